//! uniffi's binding generator, built only with `--features bindgen`:
//! `cargo run -p lumenflow-ffi --features bindgen --bin uniffi-bindgen -- generate \
//!   --library target/debug/liblumenflow_ffi.so --language kotlin --out-dir out/`

fn main() {
    uniffi::uniffi_bindgen_main()
}
