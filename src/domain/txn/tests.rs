//! Unit tests of `txn`.

use super::*;

#[test]
fn only_the_matching_verifier_answers_the_challenge() {
    let verifier = TxnVerifier::parse(&"v".repeat(43)).unwrap();
    let challenge = TxnChallenge::parse(&crypto::sha256_b64url(&"v".repeat(43))).unwrap();
    assert!(challenge.is_answered_by(&verifier));
    let other = TxnVerifier::parse(&"w".repeat(43)).unwrap();
    assert!(!challenge.is_answered_by(&other));
}

#[test]
fn a_confirmation_matches_only_its_own_hash() {
    let confirmation = Confirmation::generate().unwrap();
    let again = Confirmation::parse(confirmation.as_str()).unwrap();
    assert!(again.matches(&confirmation.hash()));
    let other = Confirmation::generate().unwrap();
    assert!(!other.matches(&confirmation.hash()));
    assert!(!confirmation.matches(&[0u8; 31]));
    assert!(Confirmation::parse(&"a".repeat(44)).is_err());
}

#[test]
fn malformed_transaction_values_are_rejected() {
    assert!(TxnId::parse("short").is_err());
    assert!(TxnId::parse(&"a".repeat(129)).is_err());
    assert!(TxnId::parse("aaaaaaaaaaaaaaaa!").is_err());
    assert!(TxnChallenge::parse(&"a".repeat(42)).is_err());
    assert!(TxnVerifier::parse(&"a".repeat(42)).is_err());
    assert!(TxnVerifier::parse(&format!("{}%", "a".repeat(43))).is_err());
}
