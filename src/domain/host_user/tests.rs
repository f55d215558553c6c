//! Unit tests of `host_user`.

use super::*;

#[test]
fn a_host_names_its_users_outside_the_brokers_namespaces() {
    assert!(HostUserId::parse("u-42").is_ok());
    for refused in [
        "",
        "registration:1",
        "ext:auth0:x",
        "a\nb",
        &"x".repeat(256),
    ] {
        assert_eq!(
            HostUserId::parse(refused),
            Err(HostUserIdError),
            "{refused:?}"
        );
    }
}

#[test]
fn an_email_is_kept_as_written_once_it_passes_the_one_rule() {
    assert_eq!(
        Email::parse("Zoe@Example.com").unwrap().as_str(),
        "Zoe@Example.com"
    );
    assert_eq!(Email::parse("zoe").unwrap_err(), EmailProblem::Malformed);
    assert_eq!(
        Email::parse("zo\u{435}@example.com").unwrap_err(),
        EmailProblem::LookAlike
    );
    // A stored profile reads back only with an address that passes.
    assert!(serde_json::from_str::<Email>("\"zoe@example.com\"").is_ok());
    assert!(serde_json::from_str::<Email>("\"not an address\"").is_err());
}

#[test]
fn each_profile_problem_names_its_field_and_rule() {
    assert_eq!(check_name(""), Err(ProfileProblem::Name));
    assert_eq!(
        check_picture("http://x.example/p.png"),
        Err(ProfileProblem::Picture)
    );
    assert!(check_picture("https://x.example/p.png").is_ok());
    let look_alike = ProfileProblem::Email(EmailProblem::LookAlike);
    assert_eq!(look_alike.field(), "email");
    assert!(look_alike.to_string().starts_with("holds look-alike"));
}
