//! RFC 8785 (JCS) conformance: the published test vectors and a 20,000-number corpus
//! of ECMAScript number serialisations (spec/vectors/rfc8785).

use lumenflow_core::canonical;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/rfc8785");

#[test]
fn published_vectors() {
    let mut n = 0;
    for entry in std::fs::read_dir(format!("{DIR}/input")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let input: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let expected = std::fs::read(format!("{DIR}/output/{name}")).unwrap();
        let got = canonical::to_vec(&input).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "{name}"
        );
        let hex: String =
            std::fs::read_to_string(format!("{DIR}/outhex/{}", name.replace(".json", ".txt")))
                .unwrap()
                .split_whitespace()
                .collect();
        assert_eq!(canonical::hex(&got), hex.to_lowercase(), "{name} (hex)");
        n += 1;
    }
    assert_eq!(n, 6);
}

#[test]
fn number_corpus() {
    let text = std::fs::read_to_string(format!("{DIR}/numbers.txt")).unwrap();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let (bits, expected) = line
            .split_once(',')
            .unwrap_or_else(|| panic!("line {}", i + 1));
        let f = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
        if !f.is_finite() {
            continue; // JSON has no NaN or infinities
        }
        let got = canonical::to_string(&f).unwrap();
        assert_eq!(got, expected, "line {}: bits {bits}", i + 1);
        n += 1;
    }
    assert!(n >= 19_000, "only {n} numbers checked");
}
