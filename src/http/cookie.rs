//! The broker's cookies. The browser-binding cookie of a login (RFC 9700 §4.7: the state is bound to the
//! user agent that started the login): set by `/login`, read and cleared by
//! `/authproxy`. Its value is the pending login itself, sealed (AEAD) with
//! [`BindingCookie::binding`] as associated data. HttpOnly and SameSite=Lax (the
//! realm's redirect back is a top-level GET, which Lax cookies follow); `__Host-`
//! and Secure on https. The name is derived from the state, so parallel logins in
//! one browser do not clash.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto;

/// The cookie binding the login with `state` to this browser.
pub struct BindingCookie {
    cookie: Named,
    /// SHA-256 of the login's state: the name is derived from it, and a sealed
    /// login is bound to it.
    state_hash: [u8; 32],
}

/// A session cookie whose value is the session, sealed with the cookie's name as
/// associated data: the one a followed login link starts
/// (`__Host-authproxy-session` on https, read by `POST /api/link/session` from
/// the app's pages on the broker's site), and the admin console's.
pub struct SessionCookie(Named);

impl SessionCookie {
    /// The session cookie.
    #[must_use]
    pub fn new(https: bool) -> Self {
        let prefix = if https { "__Host-" } else { "" };
        Self(Named {
            name: format!("{prefix}authproxy-session"),
            https,
            same_site: "Lax",
        })
    }

    /// The admin console's session (`__Host-authproxy-console` on https),
    /// SameSite=Strict: no request another site starts, not even a top-level
    /// navigation, carries it.
    #[must_use]
    pub fn console(https: bool) -> Self {
        let prefix = if https { "__Host-" } else { "" };
        Self(Named {
            name: format!("{prefix}authproxy-console"),
            https,
            same_site: "Strict",
        })
    }

    /// What a value sealed for this cookie is bound to.
    #[must_use]
    pub fn binding(&self) -> Vec<u8> {
        self.0.name.as_bytes().to_vec()
    }

    /// `Set-Cookie` holding `value` for `max_age` seconds.
    #[must_use]
    pub fn set(&self, value: &str, max_age: i64) -> Option<HeaderValue> {
        self.0.set(value, max_age)
    }

    /// `Set-Cookie` removing it.
    #[must_use]
    pub fn clear(&self) -> Option<HeaderValue> {
        self.0.clear()
    }

    /// Its value in the request.
    #[must_use]
    pub fn read<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        self.0.read(headers)
    }
}

/// A cookie of the broker's: HttpOnly, SameSite=Lax, Path=/, and Secure (with
/// the `__Host-` name) on https.
struct Named {
    name: String,
    https: bool,
    /// `Strict` for the console's session, `Lax` for the rest.
    same_site: &'static str,
}

impl Named {
    fn attributes(&self, max_age: i64) -> String {
        format!(
            "Path=/; Max-Age={max_age}; HttpOnly; SameSite={}{}",
            self.same_site,
            if self.https { "; Secure" } else { "" }
        )
    }

    fn set(&self, value: &str, max_age: i64) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!(
            "{}={value}; {}",
            self.name,
            self.attributes(max_age)
        ))
        .ok()
    }

    fn clear(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!("{}=; {}", self.name, self.attributes(0))).ok()
    }

    fn read<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == self.name)
            .map(|(_, v)| v)
    }
}

impl BindingCookie {
    #[must_use]
    /// The cookie for the login with `state`.
    pub fn for_state(state: &str, https: bool) -> Self {
        Self::named("authproxy-login", state, https)
    }

    #[must_use]
    /// The cookie for the admin console's login with `state` (a name of its
    /// own: neither login's cookie is ever read by the other's callback).
    pub fn for_console_state(state: &str, https: bool) -> Self {
        Self::named("authproxy-console-login", state, https)
    }

    fn named(kind: &str, state: &str, https: bool) -> Self {
        let state_hash = crypto::sha256(state);
        let id: String = URL_SAFE_NO_PAD
            .encode(state_hash)
            .chars()
            .take(16)
            .collect();
        let prefix = if https { "__Host-" } else { "" };
        Self {
            cookie: Named {
                name: format!("{prefix}{kind}-{id}"),
                https,
                same_site: "Lax",
            },
            state_hash,
        }
    }

    #[must_use]
    /// What a sealed login in this cookie is bound to: the cookie's name and the
    /// SHA-256 of the state. A value sealed for another login does not open here.
    pub fn binding(&self) -> Vec<u8> {
        let mut binding = self.cookie.name.as_bytes().to_vec();
        binding.push(0);
        binding.extend_from_slice(&self.state_hash);
        binding
    }

    #[must_use]
    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.cookie.name
    }

    /// `Set-Cookie` binding `value` for `max_age` seconds.
    #[must_use]
    pub fn set(&self, value: &str, max_age: i64) -> Option<HeaderValue> {
        self.cookie.set(value, max_age)
    }

    /// `Set-Cookie` removing it.
    #[must_use]
    pub fn clear(&self) -> Option<HeaderValue> {
        self.cookie.clear()
    }

    /// The 302 to the realm's `url`, setting this cookie to `sealed` for
    /// `max_age` seconds; not stored, and no `Referer` follows it.
    #[must_use]
    pub fn redirect(&self, url: &url::Url, sealed: &str, max_age: i64) -> Response {
        let mut response = super::page::redirect(StatusCode::FOUND, url.as_str());
        // Built from base64url text: always a valid header.
        if let Some(cookie) = self.set(sealed, max_age) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        response
    }

    /// Its value in the request's `Cookie` headers.
    #[must_use]
    pub fn read<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        self.cookie.read(headers)
    }
}

#[cfg(test)]
mod tests;
