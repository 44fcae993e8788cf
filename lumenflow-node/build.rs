//! Sets up linking for a Node.js addon (symbols resolved by the loading process).
fn main() {
    napi_build::setup();
}
