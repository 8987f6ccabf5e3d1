//! Fuzzes the front door of the compiler with arbitrary bytes: parsing and the analysis that
//! follows a clean parse must never panic, hang or overflow the stack, and every span they
//! report must lie inside the input.
//!
//! Run it for a bounded time with `bash scripts/fuzz.sh` (which installs cargo-fuzz and seeds
//! the corpus with the Wasp corpus and the project's specs), or by hand from `compiler/`:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run parse -- -max_total_time=60`.

#![no_main]

use appc_core::analysis::MemoryFiles;
use appc_core::{Stop, compile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    // A team file that the spec may import, so import resolution runs too.
    let files: MemoryFiles = [("src/server/chat.rs", "pub async fn chat_socket() {}")]
        .into_iter()
        .collect();
    let compiled = compile(bytes, &files, Stop::AfterAnalysis);
    for diagnostic in &compiled.diagnostics {
        let span = diagnostic.primary.span;
        assert!(span.start <= span.end && span.end <= bytes.len());
    }
    for decl in &compiled.module.decls {
        assert!(decl.span.start <= decl.span.end && decl.span.end <= bytes.len());
    }
});
