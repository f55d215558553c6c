//! Unit tests of `managed_by` in the read configuration.

use figment::Figment;
use figment::providers::{Format as _, Toml};

use super::*;

fn value(toml: &str) -> Value {
    Figment::from(Toml::string(toml)).extract().unwrap()
}

#[test]
fn marked_entries_are_found_and_their_key_taken_out() {
    let mut v = value(
        r#"
[[realms]]
name = "a"
[[realms]]
name = "b"
managed_by = "file"
[[clients]]
client_id = "x"
managed_by = "file"
"#,
    );
    let (owned, problems) = FileOwned::take(&mut v);
    assert!(problems.is_empty());
    assert_eq!(owned.realms, BTreeSet::from([1]));
    assert_eq!(owned.clients, BTreeSet::from([0]));
    assert!(owned.tenants.is_empty());
    let again = FileOwned::take(&mut v);
    assert_eq!(again.0, FileOwned::default(), "the keys are gone");
}

#[test]
fn another_value_is_a_problem_named_by_its_key() {
    let mut v = value("[[tenants]]\nid = \"t\"\nmanaged_by = \"console\"\n");
    let (owned, problems) = FileOwned::take(&mut v);
    assert!(owned.tenants.is_empty());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].key, "tenants[0].managed_by");
    assert!(problems[0].message.contains("\"file\""));
}
