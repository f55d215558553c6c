//! Unit tests of `authorization_response`.

use super::*;

fn parse(raw: &str) -> Result<AuthorizationResponse, &'static str> {
    AuthorizationResponse::parse(Some(raw)).map_err(|e| e.code())
}

#[test]
fn a_code_response_parses() {
    let response = parse("state=s1&code=c1&iss=https%3A%2F%2Fid.example").unwrap();
    assert_eq!(response.state, "s1");
    assert_eq!(response.issuer.as_deref(), Some("https://id.example"));
    assert_eq!(response.answer.unwrap(), Answer::Code("c1".into()));
}

#[test]
fn state_problems_are_refused_up_front() {
    assert_eq!(parse("code=c").unwrap_err(), "missing_state");
    assert_eq!(parse("state=&code=c").unwrap_err(), "missing_state");
    assert_eq!(parse("state=a&state=b").unwrap_err(), "invalid_query");
    let long = format!("state={}", "s".repeat(MAX_PARAM_LEN + 1));
    assert_eq!(parse(&long).unwrap_err(), "invalid_state");
}

#[test]
fn answer_problems_wait_for_the_state_to_be_consumed() {
    let missing = parse("state=s").unwrap().answer.unwrap_err();
    assert_eq!(missing.code(), "missing_code");
    let long = format!("state=s&code={}", "c".repeat(MAX_PARAM_LEN + 1));
    assert_eq!(
        parse(&long).unwrap().answer.unwrap_err().code(),
        "invalid_code"
    );
}

#[test]
fn a_realm_error_is_kept_only_if_it_is_a_plain_code() {
    let denied = parse("state=s&error=access_denied&error_description=no").unwrap();
    assert_eq!(
        denied.answer.unwrap(),
        Answer::Error {
            error: "access_denied".into(),
            description: Some("no".into())
        }
    );
    let odd = parse("state=s&error=%3Cscript%3E").unwrap();
    assert!(matches!(odd.answer, Ok(Answer::Error { error, .. }) if error == "invalid_error"));
}
