//! `uniffi-bindgen`, pinned to the UniFFI version of `mobile-ffi`:
//! `uniffi-bindgen generate --library target/debug/libjishi_ffi.so
//! --language kotlin --out-dir bindings/kotlin` (see mobile-ffi/README.md).
fn main() {
    uniffi::uniffi_bindgen_main()
}
