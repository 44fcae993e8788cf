//! The private key file is PKCS#8 v1 (RFC 5208) PEM, the form other tools read
//! (spec/evidence.md, Key files); v2 files written by earlier versions still load.

use lumenflow_core::keys::KeyPair;

fn der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    // A tiny base64 decoder: the test needs no dependency for it.
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in b64.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | table.iter().position(|t| *t == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn the_private_key_file_is_pkcs8_v1() {
    let dir = std::env::temp_dir().join(format!("lf-keyfile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("agent.key");
    let key = KeyPair::from_seed(&[7; 32]);
    key.write_files(&path).unwrap();
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
    let der = der(&pem);
    // SEQUENCE { INTEGER 0 (v1), AlgorithmIdentifier { 1.3.101.112 }, OCTET STRING { OCTET
    // STRING (32 bytes) } } and nothing after it: no [1] public key (that is v2).
    let prefix = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    assert_eq!(&der[..16], &prefix, "{der:02x?}");
    assert_eq!(der.len(), 48, "{der:02x?}");
    assert_eq!(&der[16..], &[7; 32]);
    let back = KeyPair::from_file(&path).unwrap();
    assert_eq!(back.id(), key.id());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_v2_key_file_still_loads() {
    // What earlier versions wrote: v2 (RFC 5958) with the public key inside.
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let signing = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let pem = signing.to_pkcs8_pem(Default::default()).unwrap();
    let k = KeyPair::from_pem(&pem, "v2").unwrap();
    assert_eq!(k.id(), KeyPair::from_seed(&[9; 32]).id());
}
