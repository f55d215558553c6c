//! Unit tests of `vouch`.

use super::*;

fn tenant(hosts_vouch_for_emails: bool) -> Tenant {
    let mut tenant: Tenant = serde_json::from_value(serde_json::json!({
        "id": "acme", "environment": "production", "realm": "tenant-a",
        "clients": [], "provisioning": "existing_only",
    }))
    .unwrap();
    tenant.hosts_vouch_for_emails = hosts_vouch_for_emails;
    tenant
}

#[test]
fn a_host_claim_counts_only_where_the_tenant_grants_it() {
    let host = EmailSource::Host {
        says_verified: None,
    };
    assert!(!email_trusted(&tenant(false), "u1", host));
    assert!(email_trusted(&tenant(true), "u1", host));
    assert!(email_trusted(
        &tenant(true),
        "u1",
        EmailSource::Host {
            says_verified: Some(true)
        }
    ));
}

#[test]
fn a_host_that_says_unverified_is_believed() {
    let source = EmailSource::Host {
        says_verified: Some(false),
    };
    assert!(!email_trusted(&tenant(true), "u1", source));
}

#[test]
fn no_host_vouches_for_the_brokers_own_users() {
    let host = EmailSource::Host {
        says_verified: Some(true),
    };
    assert!(!email_trusted(&tenant(true), "ext:auth0:ab:cd", host));
    assert!(!email_trusted(&tenant(true), "registration:r1", host));
}

#[test]
fn platforms_count_as_they_say_and_typed_emails_never() {
    let t = tenant(false);
    assert!(email_trusted(
        &t,
        "ext:a",
        EmailSource::Platform { verified: true }
    ));
    assert!(!email_trusted(
        &t,
        "ext:a",
        EmailSource::Platform { verified: false }
    ));
    assert!(!email_trusted(
        &tenant(true),
        "registration:r",
        EmailSource::Typed
    ));
}
