//! Which entries of the configuration file were written once already. An entry
//! the file does not own is written the first time the file names it and then
//! belongs to the store, so a change or a removal made with the console or the
//! CLI is never undone by a restart (docs/src/operate/administration.md, "Who
//! owns what").

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::{Document, DocumentStore, StoreError};
use crate::domain::{Rule, RuleKey};

/// The documents' kind; each id is `realm:NAME`, `client:ID`, `tenant:ID` or
/// `rule:DIGEST`.
const SEEDED: &str = "seeded";

/// Whether a file entry the file does not own is to be written now: only the
/// first time, when the store has no entry of that name (`stored`). It is marked
/// as written either way; a later difference from the file is reported, never
/// applied. `stored` and `in_file` are the entry as the API shows it.
pub async fn seed_once<S: DocumentStore + ?Sized>(
    store: &S,
    kind: &'static str,
    name: &str,
    stored: Option<serde_json::Value>,
    in_file: serde_json::Value,
) -> Result<bool, StoreError> {
    let entry = format!("{kind}:{name}");
    if was_seeded(store, &entry).await? {
        if stored.as_ref().is_some_and(|s| *s != in_file) {
            tracing::warn!(
                kind,
                name,
                "the configuration file's entry differs from the stored one, which is kept: the console and the CLI own the entry since the file first wrote it (mark it managed_by = \"file\" to have the file own it)"
            );
        }
        return Ok(false);
    }
    mark_seeded(store, &entry).await?;
    Ok(stored.is_none())
}

/// Whether the file's `entry` was written once already.
async fn was_seeded<S: DocumentStore + ?Sized>(store: &S, entry: &str) -> Result<bool, StoreError> {
    Ok(store.document(SEEDED, entry).await?.is_some())
}

/// Records that the file's `entry` was written (once: a second mark changes
/// nothing).
async fn mark_seeded<S: DocumentStore + ?Sized>(store: &S, entry: &str) -> Result<(), StoreError> {
    store
        .create_document(
            SEEDED,
            &Document {
                id: entry.to_owned(),
                owner: String::new(),
                body: "{}".to_owned(),
                secret: None,
            },
        )
        .await
        .map(|_| ())
}

/// The file's directory rules not written once already, each with the mark to
/// set once it is written. A mark names its rule by a digest, never by the
/// user's name.
pub async fn unseeded_rules<S: DocumentStore + ?Sized>(
    store: &S,
    rules: &[Rule],
) -> Result<Vec<(Rule, String)>, StoreError> {
    let mut fresh = Vec::new();
    for rule in rules {
        let (kind, key) = match &rule.key {
            RuleKey::User(user) => ("user", user.as_str()),
            RuleKey::Domain(domain) => ("domain", domain.as_str()),
            RuleKey::Default => ("default", ""),
        };
        let digest = Sha256::digest(format!("{kind}\n{key}"));
        let mark = format!("rule:{}", URL_SAFE_NO_PAD.encode(digest));
        if !was_seeded(store, &mark).await? {
            fresh.push((rule.clone(), mark));
        }
    }
    Ok(fresh)
}

/// Marks the rules of [`unseeded_rules`] as written.
pub async fn mark_rules<S: DocumentStore + ?Sized>(
    store: &S,
    fresh: &[(Rule, String)],
) -> Result<(), StoreError> {
    for (_, mark) in fresh {
        mark_seeded(store, mark).await?;
    }
    Ok(())
}
