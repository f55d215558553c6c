//! The configuration file. Whatever TOML (or not) it holds, reading and
//! validating never panic; a refusal names at least one problem, each with a
//! key and a message; an accepted configuration's clients allow only origins
//! that parse as origins.
#![no_main]

use authproxy::config::RawConfig;
use authproxy::domain::Origin;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let checked = RawConfig::from_toml(text).and_then(RawConfig::validate);
    match checked {
        Ok(config) => {
            for client in &config.clients {
                for origin in &client.origins {
                    assert!(Origin::parse(origin.as_str()).is_ok());
                }
            }
        }
        Err(problems) => {
            assert!(!problems.0.is_empty());
            for problem in &problems.0 {
                assert!(!problem.key.is_empty() && !problem.message.is_empty());
            }
        }
    }
});
