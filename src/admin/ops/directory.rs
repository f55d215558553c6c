//! The user directory: one rule put or removed, or a CSV file imported whole
//! (checked first, every bad row reported by line, nothing written unless all
//! rows are good).

use serde::Deserialize;
use utoipa::ToSchema;

use super::{Operator, OpsError};
use crate::admin::directory_csv;
use crate::domain::{EmailDomain, FieldProblem, Rule, RuleKey, RuleKind, Target, Username};
use crate::registry::Snapshot;
use crate::registry::input::{known_realms, problem};

/// One directory rule.
#[derive(Debug, Deserialize, serde::Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// `user`, `domain`, `not_migrated` or `default`.
    pub kind: String,
    /// The username or domain; empty for `default`.
    #[serde(default)]
    pub key: String,
    /// The realm the users belong to (none for `not_migrated`).
    #[serde(default)]
    pub realm: Option<String>,
    /// The external IdP's alias in that realm, when they log in through one.
    #[serde(default)]
    pub idp_hint: Option<String>,
}

impl RuleInput {
    /// The rule, or every problem (paths as the CSV columns).
    pub fn validate(&self, registry: &Snapshot) -> Result<Rule, Vec<FieldProblem>> {
        let realms = known_realms(registry);
        let kind = RuleKind::parse(&self.kind).map_err(|p| vec![problem("kind", p)])?;
        let realm = self.realm.as_deref().filter(|v| !v.is_empty());
        let idp_hint = self.idp_hint.as_deref().filter(|v| !v.is_empty());
        Rule::from_parts(kind, &self.key, realm, idp_hint, &realms).map_err(|problems| {
            problems
                .into_iter()
                .map(|p| problem(directory_csv::column(p.field), p.message))
                .collect()
        })
    }

    /// The key of the rule to delete.
    pub fn key(&self) -> Result<RuleKey, Vec<FieldProblem>> {
        match self.kind.as_str() {
            "user" | "not_migrated" => Username::parse(&self.key)
                .map(RuleKey::User)
                .map_err(|e| vec![problem("key", e)]),
            "domain" => EmailDomain::parse(&self.key)
                .map(RuleKey::Domain)
                .map_err(|e| vec![problem("key", e)]),
            "default" => Ok(RuleKey::Default),
            _ => Err(vec![problem(
                "kind",
                "one of user, domain, not_migrated, default",
            )]),
        }
    }

    /// How the audit trail names the rule.
    fn subject(&self) -> String {
        format!("{}:{}", self.kind, self.key)
    }
}

/// Where a rule sends its users, as its audit row says it.
#[derive(serde::Serialize)]
struct GoesTo {
    goes_to: String,
}

impl From<&Target> for GoesTo {
    fn from(target: &Target) -> Self {
        let goes_to = match target {
            Target::Sso {
                realm,
                idp_hint: Some(hint),
            } => format!("realm {realm} through {}", hint.as_str()),
            Target::Sso {
                realm,
                idp_hint: None,
            } => format!("realm {realm}"),
            Target::NotMigrated => "not enabled for SSO".to_owned(),
        };
        Self { goes_to }
    }
}

impl Operator<'_> {
    /// Adds or replaces one rule; its audit row says where its users went
    /// before and where they go now.
    pub async fn put_rule(&self, input: &RuleInput) -> Result<(), OpsError> {
        let rule = input
            .validate(&self.registry.snapshot())
            .map_err(OpsError::Invalid)?;
        let before = self.directory.rule(&rule.key).await?;
        let after = GoesTo::from(&rule.target);
        self.directory
            .import_rules(Box::new(std::iter::once(rule)), false)
            .await?;
        self.record_change(
            "directory.put",
            &input.subject(),
            before.as_ref().map(GoesTo::from).as_ref(),
            &after,
        )
        .await
    }

    /// Removes one rule (its `kind` and `key`); its audit row says where its
    /// users went.
    pub async fn delete_rule(&self, input: &RuleInput) -> Result<(), OpsError> {
        let key = input.key().map_err(OpsError::Invalid)?;
        let before = self.directory.rule(&key).await?;
        if !self.directory.delete_rule(&key).await? {
            return Err(OpsError::NotFound("No such rule.".into()));
        }
        let was = before.as_ref().map(|t| GoesTo::from(t).goes_to);
        let reason = format!("removed (went to {})", was.as_deref().unwrap_or("(none)"));
        self.record_with("directory.delete", &input.subject(), Some(reason))
            .await
    }

    /// Imports a CSV file (`kind,key,realm,idp_hint`) against the realms of the
    /// registry, all or nothing; with `replace`, the directory is emptied first in
    /// the same transaction. Returns how many rules were written.
    pub async fn import_directory<C>(&self, csv: C, replace: bool) -> Result<u64, OpsError>
    where
        C: AsRef<[u8]> + Send + 'static,
    {
        let realms = self.registry.snapshot().realms.keys().cloned().collect();
        directory_csv::check(csv.as_ref(), &realms).map_err(OpsError::BadRows)?;
        let count = self
            .directory
            .import_rules(Box::new(directory_csv::rules(csv, realms)), replace)
            .await?;
        let action = if replace {
            "directory.replace"
        } else {
            "directory.import"
        };
        self.record(action, &format!("{count} rules")).await?;
        Ok(count)
    }
}

/// Where a user goes: what discovery answers for them, in words an admin reads.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct LookupView {
    /// The username, as the directory keys it.
    pub user: String,
    /// `sso` (logs in at `realm`), `not_migrated` (not enabled for SSO), `unknown`
    /// (no rule names the user) or `realm_not_configured` (a rule names a realm
    /// that is gone).
    pub outcome: &'static str,
    /// The realm the rule names.
    pub realm: Option<String>,
    /// The realm URL discovery answers as `authority`.
    pub authority: Option<String>,
    /// The external IdP's alias (`authorityIdPHint`).
    pub idp_hint: Option<String>,
}

impl Operator<'_> {
    /// What discovery answers for `user`, without a request from a browser.
    pub async fn lookup_user(&self, user: &str) -> Result<LookupView, OpsError> {
        let name =
            Username::parse(user).map_err(|e| OpsError::Invalid(vec![problem("user", e)]))?;
        let mut view = LookupView {
            user: name.as_str().to_owned(),
            outcome: "unknown",
            realm: None,
            authority: None,
            idp_hint: None,
        };
        match self.directory.resolve(&name).await? {
            crate::domain::Resolution::Unknown => {}
            crate::domain::Resolution::Found(crate::domain::Target::NotMigrated) => {
                view.outcome = "not_migrated";
            }
            crate::domain::Resolution::Found(crate::domain::Target::Sso { realm, idp_hint }) => {
                let snapshot = self.registry.snapshot();
                let configured = snapshot.realms.get(&realm);
                view.outcome = if configured.is_some() {
                    "sso"
                } else {
                    "realm_not_configured"
                };
                view.authority = configured.map(|r| r.authority.as_str().to_owned());
                view.realm = Some(realm.as_str().to_owned());
                view.idp_hint = idp_hint.map(|h| h.as_str().to_owned());
            }
        }
        Ok(view)
    }
}
