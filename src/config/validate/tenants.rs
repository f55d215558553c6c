//! The configuration file's tenants and their public keys: each checked against
//! the realms and clients of the same file, a parent in the same environment.

use std::collections::BTreeSet;

use super::Problems;
use crate::config::{ConfiguredKey, ConfiguredTenant, RawConfig};
use crate::domain::{Client, IdpAlias, KeyId, RealmName, Tenant, TenantId, VerifyingKey};

impl RawConfig {
    pub(super) fn validate_tenants(
        &self,
        realms: &BTreeSet<RealmName>,
        clients: &[Client],
        problems: &mut Problems,
    ) -> Vec<ConfiguredTenant> {
        let mut tenants: Vec<ConfiguredTenant> = Vec::new();
        for (i, input) in self.tenants.iter().enumerate() {
            let at = format!("tenants[{i}]");
            let before = problems.0.len();
            let id = problems.check(
                &format!("{at}.id"),
                TenantId::parse(&input.id).map_err(|e| e.to_string()),
            );
            let realm = problems.check(
                &format!("{at}.realm"),
                RealmName::parse(&input.realm)
                    .map_err(|e| e.to_string())
                    .and_then(|r| {
                        if realms.contains(&r) {
                            Ok(r)
                        } else {
                            Err(format!("realm {r} is not defined in this file"))
                        }
                    }),
            );
            let mut client_ids = Vec::new();
            for (j, raw) in input.clients.iter().enumerate() {
                match clients.iter().find(|c| c.id.as_str() == raw) {
                    Some(client) => client_ids.push(client.id.clone()),
                    None => problems.add(
                        &format!("{at}.clients[{j}]"),
                        &format!("client {raw} is not defined in this file"),
                    ),
                }
            }
            let parent = input.parent.as_ref().and_then(|raw| {
                let found = tenants.iter().find(|t| t.tenant.id.as_str() == raw);
                match found {
                    Some(p) if p.tenant.environment != input.environment => {
                        problems.add(
                            &format!("{at}.parent"),
                            "a sub-tenant lives in its parent's environment",
                        );
                        None
                    }
                    Some(p) => Some(p.tenant.id.clone()),
                    None => {
                        problems.add(
                            &format!("{at}.parent"),
                            &format!("tenant {raw} must be defined above this one"),
                        );
                        None
                    }
                }
            });
            let keys = validate_tenant_keys(&at, &input.keys, problems);
            let assertion_grant_idp = input.assertion_grant_idp.as_deref().and_then(|raw| {
                problems.check(
                    &format!("{at}.assertion_grant_idp"),
                    IdpAlias::parse(raw).map_err(|e| e.to_string()),
                )
            });
            let (Some(id), Some(realm)) = (id, realm) else {
                continue;
            };
            let tenant = Tenant {
                id,
                environment: input.environment,
                parent,
                parent_may_act: input.parent_may_act,
                realm,
                clients: client_ids,
                provisioning: input.provisioning,
                max_session_secs: input.max_session_secs,
                allow_hs256: false,
                hosts_vouch_for_emails: input.hosts_vouch_for_emails,
                jwks_url: input.jwks_url.clone(),
                assertion_grant_idp,
                embeds: input.embeds.clone(),
                sso: input.sso.clone(),
            };
            let own = tenant.problems();
            problems.extend(&at, own);
            if tenants.iter().any(|t| t.tenant.id == tenant.id) {
                problems.add(
                    &format!("{at}.id"),
                    &format!("tenant {} is defined twice", tenant.id),
                );
            }
            if problems.0.len() == before {
                tenants.push(ConfiguredTenant { tenant, keys });
            }
        }
        tenants
    }
}

/// The public keys of the tenant at `at`.
pub(super) fn validate_tenant_keys(
    at: &str,
    keys_in: &[crate::config::schema::TenantKeySection],
    problems: &mut Problems,
) -> Vec<ConfiguredKey> {
    let mut keys = Vec::new();
    for (j, key) in keys_in.iter().enumerate() {
        let kid = problems.check(
            &format!("{at}.keys[{j}].kid"),
            KeyId::parse(&key.kid).map_err(|e| e.to_string()),
        );
        let parsed = problems.check(
            &format!("{at}.keys[{j}].jwk"),
            VerifyingKey::from_public_jwk(&key.jwk).map_err(|e| e.to_string()),
        );
        if let (Some(kid), Some((verifying, alg))) = (kid, parsed) {
            if keys.iter().any(|k: &ConfiguredKey| k.kid == kid) {
                problems.add(&format!("{at}.keys[{j}].kid"), "defined twice");
            }
            keys.push(ConfiguredKey {
                kid,
                key: verifying,
                alg,
                for_subtenants: key.for_subtenants,
            });
        }
    }
    keys
}
