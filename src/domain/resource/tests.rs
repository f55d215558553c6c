//! Unit tests of `resource`.

use super::*;

#[test]
fn roles_come_from_the_acl_by_id_or_email() {
    let acl = Acl {
        presenters: vec!["u1".into(), "Pat@Example.com".into()],
        organizers: vec!["u9".into()],
    };
    assert_eq!(acl.role_of("u1", None), Role::Presenter);
    assert_eq!(acl.role_of("u2", Some("pat@example.com")), Role::Presenter);
    assert_eq!(acl.role_of("u9", Some("pat@example.com")), Role::Organizer);
    assert_eq!(acl.role_of("u3", Some("x@example.com")), Role::Attendee);
    assert_eq!(acl.role_of("Pat@Example.com", None), Role::Presenter);
}
