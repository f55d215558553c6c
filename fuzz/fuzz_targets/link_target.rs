//! Where a login link may land, and who registers. Whatever the bytes, parsing
//! never panics; an accepted link path, joined to the app's origin as a browser
//! resolves a `Location`, stays on that origin with that path; an accepted
//! registration email is its own normal form, and normalising it again gives
//! the same address and the same uniqueness key.
#![no_main]

use authproxy::domain::{LinkPath, RegistrationEmail};
use libfuzzer_sys::fuzz_target;

const APP: &str = "https://app.example";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = LinkPath::parse(text) {
        let target = format!("{APP}{}", path.as_str());
        let resolved = url::Url::parse(APP)
            .and_then(|base| base.join(&target))
            .expect("an accepted path makes a URL");
        assert_eq!(
            resolved.origin().ascii_serialization(),
            APP,
            "{text:?} leaves the app's origin"
        );
        assert!(
            resolved.as_str().starts_with(&format!("{APP}/")),
            "{text:?} resolves to {resolved}"
        );
    }
    if let Ok(email) = RegistrationEmail::parse(text) {
        let again = RegistrationEmail::parse(email.as_str()).expect("a normal form parses");
        assert_eq!(again.as_str(), email.as_str(), "normalising is idempotent");
        assert_eq!(again.uniqueness_key(), email.uniqueness_key());
    }
});
