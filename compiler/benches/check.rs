//! `appc check` without the I/O: parse + analyze of the generated ~20,000-line spec, in release
//! (goal: under 50 ms). Run with `cargo bench -p appc --bench check`.
//!
//! The project's `src/` files (socket functions and page components) live in a `MemoryFiles`
//! tree built once, so the figure is the compiler's own work. The parse-only benchmark is here
//! too, as the anchor the analysis cost is compared with in one run.

#[path = "support/synthetic.rs"]
mod synthetic;

use appc_core::analysis::{self, MemoryFiles};
use appc_core::{Stop, compile};
use synthetic::{SyntheticSize, synthetic_project_files};

fn main() {
    divan::main();
}

/// The synthetic project's `main.wasp` and the rest of its files as an in-memory tree.
fn project(size: SyntheticSize) -> (String, MemoryFiles) {
    let mut spec = String::new();
    let mut files = MemoryFiles::new();
    for (path, text) in synthetic_project_files(size) {
        if path == "main.wasp" {
            spec = text;
        } else {
            files.insert(path, text);
        }
    }
    (spec, files)
}

/// Parse + analyze through the front door: what `appc check` does between reading the files and
/// printing.
#[divan::bench(sample_count = 30)]
fn check_synthetic_spec(bencher: divan::Bencher) {
    let (spec, files) = project(SyntheticSize::LARGE);
    bencher
        .counter(divan::counter::BytesCount::of_str(&spec))
        .bench(|| {
            let compiled = compile(
                divan::black_box(spec.as_bytes()),
                &files,
                Stop::AfterAnalysis,
            );
            assert!(compiled.spec.is_some());
            compiled
        });
}

/// Analysis alone, on an already parsed module.
#[divan::bench(sample_count = 30)]
fn analyze_synthetic_spec(bencher: divan::Bencher) {
    let (spec, files) = project(SyntheticSize::LARGE);
    let parsed = appc_core::syntax::parse(&spec);
    bencher.bench(|| analysis::analyze(divan::black_box(&parsed.module), &files));
}

/// Parsing alone: the anchor for the two figures above.
#[divan::bench(sample_count = 30)]
fn parse_synthetic_spec(bencher: divan::Bencher) {
    let (spec, _) = project(SyntheticSize::LARGE);
    bencher
        .counter(divan::counter::BytesCount::of_str(&spec))
        .bench(|| appc_core::syntax::parse(divan::black_box(&spec)));
}
