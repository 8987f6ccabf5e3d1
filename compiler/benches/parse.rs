//! Parser throughput: parse + AST build of a generated ~20,000-line spec (goal: >= 50 MB/s in
//! release). Run with `cargo bench -p appc --bench parse`; divan reports the time per parse and
//! the throughput in bytes per second.

#[path = "support/synthetic.rs"]
mod synthetic;

use synthetic::{SyntheticSize, synthetic_spec};

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 30)]
fn parse_synthetic_spec(bencher: divan::Bencher) {
    let spec = synthetic_spec(SyntheticSize::LARGE);
    bencher
        .counter(divan::counter::BytesCount::of_str(&spec))
        .bench(|| appc_core::syntax::parse(divan::black_box(&spec)));
}

/// A small spec of the same shape: per-parse overhead dominates here.
#[divan::bench(sample_count = 30)]
fn parse_corpus_like_small_spec(bencher: divan::Bencher) {
    let spec = synthetic_spec(SyntheticSize::SMALL);
    bencher
        .counter(divan::counter::BytesCount::of_str(&spec))
        .bench(|| appc_core::syntax::parse(divan::black_box(&spec)));
}
