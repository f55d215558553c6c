//! Unit tests of `crypto`.

use std::sync::Arc;

use super::*;

#[test]
fn sealed_value_opens_only_under_its_row_key() {
    let sealer = Sealer::from_base64(&Sealer::generate_key().unwrap()).unwrap();
    let ciphertext = sealer.seal(b"row-1", b"secret").unwrap();
    assert_eq!(sealer.open(b"row-1", &ciphertext).unwrap(), b"secret");
    assert!(sealer.open(b"row-2", &ciphertext).is_err());
}

#[test]
fn the_newest_key_seals_and_every_key_opens() {
    let old = Sealer::generate_key().unwrap();
    let new = Sealer::generate_key().unwrap();
    let before = Sealer::from_base64(&old)
        .unwrap()
        .seal(b"row", b"secret")
        .unwrap();
    let ring = Sealer::from_keys(&[new.clone(), old]).unwrap();
    assert_eq!(
        ring.open_and_check(b"row", &before).unwrap(),
        (b"secret".to_vec(), false)
    );
    let after = ring.seal(b"row", b"secret").unwrap();
    assert_eq!(
        ring.open_and_check(b"row", &after).unwrap(),
        (b"secret".to_vec(), true)
    );
    assert!(
        Sealer::from_base64(&new)
            .unwrap()
            .open(b"row", &before)
            .is_err()
    );
    assert_eq!(ring.key_ids().len(), 2);
}

#[test]
fn a_ring_reads_its_keys_again_when_nothing_opens() {
    let old = Sealer::generate_key().unwrap();
    let new = Sealer::generate_key().unwrap();
    let sealed = Sealer::from_base64(&new)
        .unwrap()
        .seal(b"row", b"v")
        .unwrap();
    let reloaded = new.clone();
    let ring = Sealer::from_base64(&old)
        .unwrap()
        .with_reload(Arc::new(move || Ok(vec![reloaded.clone()])));
    assert_eq!(ring.open(b"row", &sealed).unwrap(), b"v");
    assert_eq!(ring.key_ids(), vec![Sealer::fingerprint(&new).unwrap()]);
}

#[test]
fn s256_is_base64url_of_sha256_without_padding() {
    // Expected value computed independently (Python hashlib + base64).
    assert_eq!(
        sha256_b64url("dBjftJeZ4CVP-mJ92K1uQb4d6iU0Ltt1V0iiDEK39sU"),
        "fLfXp-JvaE6p1GHe8x-N4dKhId3F1cEgZdoaXDmKACU"
    );
}

#[test]
fn an_es256_token_verifies_with_its_public_point_and_with_no_other() {
    let private = jws::generate_p256().unwrap();
    let key = jws::Es256Key::from_private(&private).unwrap();
    let token = key
        .sign(
            &serde_json::json!({"alg": "ES256", "kid": "k"}),
            &serde_json::json!({"sub": "ada"}),
        )
        .unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .unwrap();
    assert_eq!(signature.len(), 64, "r || s, as JWS wants (not DER)");
    let point = |private: &[u8]| {
        let (x, y) = jws::p256_public(private).unwrap();
        [&[4u8][..], &x, &y].concat()
    };
    assert!(jws::verify_es256(
        &point(&private),
        input.as_bytes(),
        &signature
    ));
    assert_eq!(
        key.public_point(),
        point(&private),
        "the pair's point is the scalar's"
    );
    let other = jws::generate_p256().unwrap();
    assert!(!jws::verify_es256(
        &point(&other),
        input.as_bytes(),
        &signature
    ));
    assert!(!jws::verify_es256(
        &point(&private),
        b"other input",
        &signature
    ));
    assert!(
        jws::Es256Key::from_private(&[0u8; 32]).is_err(),
        "zero is no scalar"
    );
}
