//! A tenant's identity providers (third-party SSO): the list, their secrets
//! (write-only: sealed at rest, never shown) and the connection test, shared by
//! the admin API and the CLI.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Operator, OpsError};
use crate::auth::third_party::PlatformVerifier;
use crate::domain::{SsoProvider, Tenant};
use crate::idp::host_jwks::HostJwks;
use crate::registry::input::problem;
use crate::store::tenants::{ProviderSecrets, TenantStore as _};

/// A provider's secrets (Piano: the API token and the application's signing key).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsInput {
    /// The token the broker calls the platform's API with.
    pub api_token: String,
    /// The key the platform signs its user tokens with.
    pub signing_key: String,
}

/// A provider as shown: never its secrets, only whether they are set.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    /// Its name in the tenant.
    pub name: String,
    /// `auth0`, `gigya`, `piano` or `oidc`.
    pub kind: String,
    /// Whether the provider needs secrets.
    pub needs_secrets: bool,
    /// Whether they are set.
    pub secrets_set: bool,
}

/// The result of a connection test.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestReport {
    /// Whether the provider can be used.
    pub ok: bool,
    /// What was found, or what is wrong.
    pub detail: String,
}

fn secret_ok(value: &str) -> bool {
    (1..=4096).contains(&value.len()) && !value.chars().any(char::is_control)
}

impl Operator<'_> {
    async fn provider(&self, tenant: &str, name: &str) -> Result<(Tenant, SsoProvider), OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        let provider = tenant.sso.provider(name).cloned().ok_or_else(|| {
            OpsError::NotFound(format!("Tenant {} has no provider {name}.", tenant.id))
        })?;
        Ok((tenant, provider))
    }

    /// The tenant's providers.
    pub async fn list_providers(&self, tenant: &str) -> Result<Vec<ProviderView>, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        let mut views = Vec::new();
        for provider in &tenant.sso.providers {
            let set = self
                .tenants
                .provider_secrets(&tenant.id, provider.name.as_str())
                .await?
                .is_some();
            views.push(ProviderView {
                name: provider.name.to_string(),
                kind: provider.kind.as_str().to_owned(),
                needs_secrets: provider.kind.needs_secrets(),
                secrets_set: set,
            });
        }
        Ok(views)
    }

    /// Sets a provider's secrets (replacing any).
    pub async fn put_provider_secrets(
        &self,
        tenant: &str,
        name: &str,
        input: &SecretsInput,
    ) -> Result<ProviderView, OpsError> {
        let (tenant, provider) = self.provider(tenant, name).await?;
        let mut problems = Vec::new();
        if !provider.kind.needs_secrets() {
            problems.push(problem(
                "provider",
                format!("a {} provider has no secrets", provider.kind.as_str()),
            ));
        }
        for (field, value) in [
            ("api_token", &input.api_token),
            ("signing_key", &input.signing_key),
        ] {
            if !secret_ok(value) {
                problems.push(problem(
                    field,
                    "1 to 4096 characters, no control characters",
                ));
            }
        }
        if !problems.is_empty() {
            return Err(OpsError::Invalid(problems));
        }
        let secrets = ProviderSecrets {
            api_token: input.api_token.clone(),
            signing_key: input.signing_key.clone(),
        };
        self.tenants
            .put_provider_secrets(&tenant.id, name, &secrets)
            .await?;
        self.record_with(
            "tenant.provider.secrets",
            &format!("{}/{name}", tenant.id),
            Some("secrets set (their values are never recorded)".to_owned()),
        )
        .await?;
        Ok(ProviderView {
            name: name.to_owned(),
            kind: provider.kind.as_str().to_owned(),
            needs_secrets: true,
            secrets_set: true,
        })
    }

    /// Tests a provider: fetches its keys (or discovery), or, for Piano, calls
    /// its API with the API token.
    pub async fn test_provider(
        &self,
        keys: &HostJwks,
        tenant: &str,
        name: &str,
    ) -> Result<TestReport, OpsError> {
        let (tenant, provider) = self.provider(tenant, name).await?;
        let secrets = self.tenants.provider_secrets(&tenant.id, name).await?;
        let verifier = PlatformVerifier {
            keys,
            environment: tenant.environment,
            secrets: secrets.as_ref(),
        };
        let report = match verifier.test_connection(&provider).await {
            Ok(detail) => TestReport { ok: true, detail },
            Err(detail) => TestReport { ok: false, detail },
        };
        self.record("tenant.provider.test", &format!("{}/{name}", tenant.id))
            .await?;
        Ok(report)
    }
}
