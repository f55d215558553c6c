//! Unit tests of `changes`.

use serde_json::json;

use super::describe;

#[test]
fn a_change_names_each_changed_field_with_its_values_and_nothing_else() {
    let before = json!({"id": "acme", "max_session_secs": 14400, "embeds": {"link_paths": ["/calls"], "app_url": null}});
    let after = json!({"id": "acme", "max_session_secs": 600, "embeds": {"link_paths": [], "app_url": null}});
    assert_eq!(
        describe(Some(&before), &after),
        r#"embeds.link_paths: ["/calls"] -> []; max_session_secs: 14400 -> 600"#
    );
    assert_eq!(describe(Some(&after), &after), "nothing changed");
    assert_eq!(
        describe(Some(&json!({"parent": null})), &json!({"parent": "acme"})),
        r#"parent: (none) -> "acme""#
    );
    assert_eq!(describe(None, &after), "created");
}

#[test]
fn a_long_value_is_cut_and_a_long_list_of_changes_ends_with_a_count() {
    let long = "x".repeat(500);
    let described = describe(Some(&json!({"a": long})), &json!({"a": "y"}));
    assert!(described.len() < 200, "{described}");
    assert!(described.contains('…'));
    let before: serde_json::Map<_, _> = (0..100)
        .map(|i| (format!("f{i:03}"), json!(long.clone())))
        .collect();
    let after: serde_json::Map<_, _> = (0..100).map(|i| (format!("f{i:03}"), json!(i))).collect();
    let described = describe(Some(&before.into()), &after.into());
    assert!(described.len() <= 2100, "{}", described.len());
    assert!(described.ends_with("more"), "{described}");
}
