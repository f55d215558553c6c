//! Unit tests of `directory_csv`.

use super::*;

fn realms() -> BTreeSet<RealmName> {
    ["tenant-a"]
        .into_iter()
        .map(|r| RealmName::parse(r).unwrap())
        .collect()
}

#[test]
fn every_kind_of_row_is_understood() {
    let csv = b"kind,key,realm,idp_hint\nuser,Alice@Tenant-A.test,tenant-a,\ndomain,corp.test,tenant-a,corp-idp\nnot_migrated,legacy@tenant-a.test,,\ndefault,,tenant-a,\n";
    assert_eq!(check(csv, &realms()), Ok(4));
    assert_eq!(rules(csv, realms()).count(), 4);
}

#[test]
fn every_bad_row_is_reported_with_its_line() {
    let csv = b"kind,key,realm,idp_hint\nuser,a@b.test,tenant-z,\nuser,c@d.test,tenant-a,\nuser,nope,tenant-a,\n";
    let problems = check(csv, &realms()).unwrap_err();
    let lines: Vec<u64> = problems.rows.iter().map(|p| p.line).collect();
    assert_eq!(lines, [2, 4]);
    assert!(
        problems.rows[0].message.contains("tenant-z"),
        "{problems:?}"
    );
    assert!(problems.rows[1].message.starts_with("key:"), "{problems:?}");
}

#[test]
fn a_key_given_twice_with_another_target_is_refused_and_the_same_twice_is_fine() {
    let twice = b"kind,key,realm,idp_hint\nuser,a@b.test,tenant-a,\nuser,a@b.test,tenant-a,\n";
    assert_eq!(check(twice, &realms()), Ok(1));
    let conflicting =
        b"kind,key,realm,idp_hint\nuser,a@b.test,tenant-a,\nnot_migrated,a@b.test,,\n";
    let problems = check(conflicting, &realms()).unwrap_err();
    assert_eq!(problems.rows[0].line, 3);
    assert!(problems.rows[0].message.contains("line 2"));
}

#[test]
fn reports_are_bounded() {
    let mut csv = b"kind,key,realm,idp_hint\n".to_vec();
    for i in 0..150 {
        csv.extend_from_slice(format!("user,u{i}@b.test,tenant-z,\n").as_bytes());
    }
    let problems = check(&csv, &realms()).unwrap_err();
    assert_eq!(problems.rows.len(), MAX_REPORTED);
    assert_eq!(problems.omitted, 50);
}
