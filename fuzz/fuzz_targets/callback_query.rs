//! The query string of the redirect to `/authproxy`. Whatever it holds, parsing
//! never panics and every refusal is a 4xx; what is accepted has a non-empty
//! state within bounds, and a code within bounds or a plain-ASCII error code.
#![no_main]

use authproxy::http::authorization_response::{Answer, AuthorizationResponse, MAX_PARAM_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let response = match AuthorizationResponse::parse(Some(query)) {
        Ok(response) => response,
        Err(refused) => {
            assert!(refused.status().is_client_error(), "{}", refused.code());
            return;
        }
    };
    assert!((1..=MAX_PARAM_LEN).contains(&response.state.len()));
    match response.answer {
        Ok(Answer::Code(code)) => assert!((1..=MAX_PARAM_LEN).contains(&code.len())),
        Ok(Answer::Error { error, description }) => {
            assert!((1..=64).contains(&error.len()));
            assert!(
                error
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
            );
            assert!(description.is_none_or(|d| d.chars().count() <= 500));
        }
        Err(refused) => assert!(refused.status().is_client_error(), "{}", refused.code()),
    }
});
