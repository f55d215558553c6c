//! The user directory in SQLite: rules keyed by user, domain, or the default.

use async_trait::async_trait;
use rusqlite::{OptionalExtension as _, params};

use super::SqliteStore;
use crate::domain::{Resolution, Rule, RuleKey, Target, Username};
use crate::store::rows::{EXPORT_SQL, export_rows, target_columns, target_from_row, unavailable};
use crate::store::{DirectoryStore, Rules, StoreError};

/// Prepared statements for writing rules inside one transaction.
struct RuleWriter<'a> {
    user: rusqlite::Statement<'a>,
    domain: rusqlite::Statement<'a>,
    default: rusqlite::Statement<'a>,
}

/// Counts changes to the directory, so that caches (in any process) notice them.
const BUMP: &str = "UPDATE meta SET value = value + 1 WHERE key = 'directory_version'";

/// Writes `rows` (stopping at the first `Err`) on `conn`, inside the caller's
/// transaction; with `replace`, empties the directory first. How many were written.
pub(super) fn write_rules<I>(
    conn: &rusqlite::Connection,
    rows: I,
    replace: bool,
) -> Result<u64, StoreError>
where
    I: IntoIterator<Item = Rule>,
{
    if replace {
        conn.execute_batch(
            "DELETE FROM directory_users; DELETE FROM directory_domains; DELETE FROM directory_default;",
        )
        .map_err(unavailable)?;
    }
    let mut writer = RuleWriter::new(conn)?;
    let mut count = 0;
    for row in rows {
        writer.write(&row)?;
        count += 1;
    }
    conn.execute(BUMP, []).map_err(unavailable)?;
    Ok(count)
}

impl<'a> RuleWriter<'a> {
    fn new(tx: &'a rusqlite::Connection) -> Result<Self, StoreError> {
        Ok(Self {
            user: tx
                .prepare("INSERT OR REPLACE INTO directory_users (username, realm, idp_hint) VALUES (?1, ?2, ?3)")
                .map_err(unavailable)?,
            domain: tx
                .prepare("INSERT OR REPLACE INTO directory_domains (domain, realm, idp_hint) VALUES (?1, ?2, ?3)")
                .map_err(unavailable)?,
            default: tx
                .prepare("INSERT OR REPLACE INTO directory_default (id, realm, idp_hint) VALUES (1, ?1, ?2)")
                .map_err(unavailable)?,
        })
    }

    fn write(&mut self, rule: &Rule) -> Result<(), StoreError> {
        let (realm, hint) = target_columns(&rule.target);
        match &rule.key {
            RuleKey::User(user) => self.user.execute(params![user.as_str(), realm, hint]),
            RuleKey::Domain(domain) => self.domain.execute(params![domain.as_str(), realm, hint]),
            RuleKey::Default => self.default.execute(params![realm, hint]),
        }
        .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn resolve(&self, user: &Username) -> Result<Resolution, StoreError> {
        self.read_inline(|conn| {
            let row: Option<(Option<String>, Option<String>)> = conn
                .prepare_cached(
                    "SELECT realm, idp_hint, 0 AS rank FROM directory_users WHERE username = ?1
                     UNION ALL SELECT realm, idp_hint, 1 FROM directory_domains WHERE domain = ?2
                     UNION ALL SELECT realm, idp_hint, 2 FROM directory_default
                     ORDER BY rank LIMIT 1",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![user.as_str(), user.domain()], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                    .optional()
                })
                .map_err(unavailable)?;
            match row {
                None => Ok(Resolution::Unknown),
                Some((realm, hint)) => {
                    Ok(Resolution::Found(target_from_row(realm, hint.as_deref())?))
                }
            }
        })
    }

    async fn import_rules(&self, rules: Rules, replace: bool) -> Result<u64, StoreError> {
        self.write(move |conn, _| write_rules(conn, rules, replace))
            .await
    }

    async fn rule(&self, key: &RuleKey) -> Result<Option<Target>, StoreError> {
        let (sql, param) = match key {
            RuleKey::User(user) => (
                "SELECT realm, idp_hint FROM directory_users WHERE username = ?1",
                Some(user.as_str()),
            ),
            RuleKey::Domain(domain) => (
                "SELECT realm, idp_hint FROM directory_domains WHERE domain = ?1",
                Some(domain.as_str()),
            ),
            RuleKey::Default => ("SELECT realm, idp_hint FROM directory_default", None),
        };
        self.read_inline(|conn| {
            let row: Option<(Option<String>, Option<String>)> = conn
                .prepare_cached(sql)
                .and_then(|mut s| {
                    s.query_row(rusqlite::params_from_iter(param), |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                })
                .map_err(unavailable)?;
            row.map(|(realm, hint)| target_from_row(realm, hint.as_deref()))
                .transpose()
        })
    }

    async fn delete_rule(&self, key: &RuleKey) -> Result<bool, StoreError> {
        let key = key.clone();
        self.write(move |conn, _| {
            match &key {
                RuleKey::User(user) => conn.execute(
                    "DELETE FROM directory_users WHERE username = ?1",
                    params![user.as_str()],
                ),
                RuleKey::Domain(domain) => conn.execute(
                    "DELETE FROM directory_domains WHERE domain = ?1",
                    params![domain.as_str()],
                ),
                RuleKey::Default => conn.execute("DELETE FROM directory_default", []),
            }
            .and_then(|deleted| conn.execute(BUMP, []).map(|_| deleted > 0))
            .map_err(unavailable)
        })
        .await
    }

    async fn directory_version(&self) -> Result<i64, StoreError> {
        self.version("directory_version")
    }

    async fn export_csv(&self) -> Result<String, StoreError> {
        self.blocking(|conn, _| {
            let mut stmt = conn.prepare(EXPORT_SQL).map_err(unavailable)?;
            let rows = stmt
                .query_map([], |row| {
                    Ok([row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?])
                })
                .map_err(unavailable)?
                .collect::<Result<Vec<[Option<String>; 4]>, _>>()
                .map_err(unavailable)?;
            export_rows(rows)
        })
        .await
    }
}
