//! Unit tests of `jwk`.

use super::*;
use openidconnect::PrivateSigningKey as _;
use openidconnect::core::CoreRsaPrivateSigningKey;

#[test]
fn every_rsa_algorithm_verifies_what_openidconnect_signs_and_nothing_else() {
    use CoreJwsSigningAlgorithm as Alg;
    let pem = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "2048"])
        .output()
        .unwrap()
        .stdout;
    let signer = CoreRsaPrivateSigningKey::from_pem(
        std::str::from_utf8(&pem).unwrap(),
        Some(JsonWebKeyId::new("k".into())),
    )
    .unwrap();
    let jwk = serde_json::to_value(signer.as_verification_key()).unwrap();
    let key: RealmKey = serde_json::from_value(jwk).unwrap();
    assert!(matches!(key.material, Material::Rsa { .. }));
    for alg in [
        Alg::RsaSsaPkcs1V15Sha256,
        Alg::RsaSsaPkcs1V15Sha384,
        Alg::RsaSsaPkcs1V15Sha512,
        Alg::RsaSsaPssSha256,
        Alg::RsaSsaPssSha384,
        Alg::RsaSsaPssSha512,
    ] {
        let signature = signer.sign(&alg, b"header.claims").unwrap();
        assert!(
            key.verify_signature(&alg, b"header.claims", &signature)
                .is_ok(),
            "{alg:?}"
        );
        assert!(
            key.verify_signature(&alg, b"header.claimz", &signature)
                .is_err(),
            "{alg:?}"
        );
    }
    // An RSA key never verifies an ECDSA signature (openidconnect says why).
    assert!(
        key.verify_signature(&Alg::EcdsaP256Sha256, b"header.claims", &[0; 64])
            .is_err()
    );
}
