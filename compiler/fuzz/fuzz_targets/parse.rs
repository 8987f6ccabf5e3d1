//! Fuzzes the spec parser with arbitrary bytes: it must never panic, hang or overflow the stack,
//! and every span it reports must lie inside the input.
//!
//! Run with `cargo +nightly fuzz run parse` from `compiler/` (needs cargo-fuzz); seed the corpus
//! with real specs, e.g. `cp ../../shared/wasp-corpus/**/*.wasp fuzz/corpus/parse/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let parsed = appc::syntax::parse_bytes(bytes);
    for diagnostic in &parsed.diagnostics {
        let span = diagnostic.primary.span;
        assert!(span.start <= span.end && span.end <= bytes.len());
    }
    for decl in &parsed.module.decls {
        assert!(decl.span.start <= decl.span.end && decl.span.end <= bytes.len());
    }
});
