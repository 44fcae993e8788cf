//! C2SP's Ed25519 edge-case vectors (spec/vectors/ed25519-cctv/, BSD licence) against
//! the strict signature rule of spec/evidence.md: a vector verifies only if its only
//! edge cases are low-order *components* (mixed-order points, which no blocklist can
//! reject); every low-order or non-canonical point, and every residue that only a
//! cofactored equation accepts, is refused.

use lumenflow_core::verify_signature;

#[test]
fn strict_rule_on_every_cctv_vector() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../spec/vectors/ed25519-cctv/ed25519vectors.json"
    ))
    .unwrap();
    let vectors: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(vectors.len(), 914);
    let (mut accepted, mut refused) = (0, 0);
    for v in &vectors {
        let flags: Vec<&str> = v["flags"]
            .as_array()
            .map(|f| f.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        let expected = flags
            .iter()
            .all(|f| matches!(*f, "low_order_component_A" | "low_order_component_R"));
        let got = verify_signature(
            v["key"].as_str().unwrap(),
            v["msg"].as_str().unwrap().as_bytes(),
            v["sig"].as_str().unwrap(),
        );
        assert_eq!(got, expected, "vector {} with flags {flags:?}", v["number"]);
        if got {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn upper_case_or_signed_hex_is_never_a_signature() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../spec/vectors/ed25519-cctv/ed25519vectors.json"
    ))
    .unwrap();
    let vectors: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let good = vectors
        .iter()
        .find(|v| v["flags"].is_null())
        .expect("a vector with no edge case");
    let (key, msg, sig) = (
        good["key"].as_str().unwrap(),
        good["msg"].as_str().unwrap().as_bytes(),
        good["sig"].as_str().unwrap(),
    );
    assert!(verify_signature(key, msg, sig));
    assert!(!verify_signature(key, msg, &sig.to_ascii_uppercase()));
    assert!(!verify_signature(&key.to_ascii_uppercase(), msg, sig));
    assert!(!verify_signature(key, msg, &format!("+{}", &sig[1..])));
}
