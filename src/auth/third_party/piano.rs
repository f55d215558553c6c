//! Piano: a user's profile read from Piano's user API with the tenant's API
//! token (its token carries no profile), and the connection test that asks it.

use serde_json::Value;

use super::{Checked, ExternalIdentity, PlatformVerifier, Refusal, joined, text, trimmed};
use crate::domain::{Environment, ProviderKind, SsoProvider};
use crate::idp::IdpError;

impl PlatformVerifier<'_> {
    /// Reads the user's current profile from Piano's user API: the
    /// `display_name` custom field and whether the email is confirmed.
    pub async fn piano_profile(
        &self,
        provider: &SsoProvider,
        identity: &mut ExternalIdentity,
    ) -> Result<(), Checked> {
        let ProviderKind::Piano {
            application_id,
            base_url,
        } = &provider.kind
        else {
            return Ok(());
        };
        let secrets = self.secrets.ok_or(Refusal::NoSecrets)?;
        let url = self
            .piano_api(base_url.as_deref(), "user/get")
            .map_err(|e| Checked::Failed(IdpError::InvalidResponse(e)))?;
        let body = self
            .keys
            .http()
            .post_form(
                url,
                None,
                &[
                    ("aid", application_id),
                    ("api_token", &secrets.api_token),
                    ("uid", &identity.subject),
                ],
            )
            .await
            .map_err(Checked::Failed)?;
        let answer: Value = crate::idp::http::parse_json(&body).map_err(Checked::Failed)?;
        // Piano answers 200 with its own code: 0 is success.
        if answer.get("code").and_then(Value::as_i64) != Some(0) {
            return Err(Refusal::UnknownUser.into());
        }
        let user = answer
            .get("user")
            .and_then(Value::as_object)
            .ok_or(Refusal::UnknownUser)?;
        if text(user, "uid", 200).as_deref() != Some(identity.subject.as_str()) {
            return Err(Refusal::UnknownUser.into());
        }
        let custom = user
            .get("custom_fields")
            .and_then(Value::as_array)
            .and_then(|fields| {
                fields
                    .iter()
                    .find(|f| f.get("field_name").and_then(Value::as_str) == Some("display_name"))
            })
            .and_then(|f| f.get("value"))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty() && v.len() <= 256 && !v.chars().any(char::is_control))
            .map(str::to_owned);
        identity.name = custom
            .or_else(|| joined(text(user, "first_name", 128), text(user, "last_name", 128)))
            .or(identity.name.take());
        identity.email = text(user, "email", 320).or(identity.email.take());
        identity.email_verified =
            user.get("email_confirmed").and_then(Value::as_bool) == Some(true);
        Ok(())
    }

    /// Piano's publisher API endpoint `path` (under `/api/v3/publisher/`), on
    /// `base_url` or Piano's host for the tenant's environment.
    pub(super) fn piano_api(&self, base_url: Option<&str>, path: &str) -> Result<url::Url, String> {
        let base = base_url.map_or(piano_host(self.environment), trimmed);
        url::Url::parse(&format!("{base}/api/v3/publisher/{path}")).map_err(|e| e.to_string())
    }

    pub(super) async fn test_piano(&self, provider: &SsoProvider) -> Result<String, String> {
        let ProviderKind::Piano {
            application_id,
            base_url,
        } = &provider.kind
        else {
            return Err("not a Piano provider".into());
        };
        let secrets = self
            .secrets
            .ok_or("the API token and signing key are not set (PUT .../secrets)")?;
        let url = self.piano_api(base_url.as_deref(), "app/get")?;
        let base = url.origin().ascii_serialization();
        let body = self
            .keys
            .http()
            .post_form(
                url,
                None,
                &[("aid", application_id), ("api_token", &secrets.api_token)],
            )
            .await
            .map_err(|e| format!("{base}: {e}"))?;
        let answer: Value = crate::idp::http::parse_json(&body).map_err(|e| e.to_string())?;
        match answer.get("code").and_then(Value::as_i64) {
            Some(0) => Ok(format!(
                "the API token is accepted for application {application_id}"
            )),
            _ => Err(format!(
                "Piano refused the API token for application {application_id} ({})",
                answer
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
            )),
        }
    }
}

/// Piano's API host for an environment.
#[must_use]
pub fn piano_host(environment: Environment) -> &'static str {
    match environment {
        Environment::Production => "https://api.piano.io",
        Environment::Sandbox => "https://sandbox.piano.io",
    }
}
