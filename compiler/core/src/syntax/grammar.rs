//! The pest parser generated from the normative grammar `spec/wasp.pest`.
//!
//! Nothing outside `syntax` sees [`Rule`] or pest's pairs: the parser turns them into the AST.

use pest_derive::Parser;

/// The parser pest_derive builds from `spec/wasp.pest` (the path is relative to `compiler/core/`).
#[derive(Parser)]
#[grammar = "../../spec/wasp.pest"]
pub(super) struct WaspGrammar;
