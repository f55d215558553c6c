//! Unit tests of `sealing_key`.

use super::*;

#[test]
fn the_key_file_round_trips_keys_and_retirements_privately() {
    let dir = tempfile::tempdir().unwrap();
    let file = KeyFile::beside(&dir.path().join("authproxy.db"));
    assert!(file.read().unwrap().is_none());
    let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let entries = [
        KeyEntry {
            key: Sealer::generate_key().unwrap(),
            retired: None,
        },
        KeyEntry {
            key: Sealer::generate_key().unwrap(),
            retired: Some(now),
        },
    ];
    file.write(&entries).unwrap();
    let mode = fs::metadata(file.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let back = file.read().unwrap().unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back[1].retired, Some(now));
    assert_eq!(usable(&back, now + chrono::TimeDelta::minutes(5)).len(), 2);
    assert_eq!(usable(&back, now + chrono::TimeDelta::hours(2)).len(), 1);
}

#[test]
fn a_key_file_is_created_once_and_never_replaced_by_a_second_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = KeyFile::beside(&dir.path().join("authproxy.db"));
    let first = KeyEntry {
        key: Sealer::generate_key().unwrap(),
        retired: None,
    };
    let second = KeyEntry {
        key: Sealer::generate_key().unwrap(),
        retired: None,
    };
    assert!(file.create(std::slice::from_ref(&first)).unwrap());
    assert!(!file.create(std::slice::from_ref(&second)).unwrap());
    let kept = file.read().unwrap().unwrap();
    assert_eq!(kept[0].key.expose_secret(), first.key.expose_secret());
    // No temporary file is left behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_bare_key_written_by_older_versions_is_a_ring_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(KEY_FILE);
    let key = Sealer::generate_key().unwrap();
    fs::write(&path, key.expose_secret()).unwrap();
    let back = KeyFile { path }.read().unwrap().unwrap();
    assert_eq!(back.len(), 1);
    assert!(back[0].retired.is_none());
}

#[test]
fn a_damaged_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(KEY_FILE);
    fs::write(&path, "# keys\nnot-a-key\n").unwrap();
    let err = KeyFile { path }.read().err().unwrap().to_string();
    assert!(err.contains("line 2"), "{err}");
}
