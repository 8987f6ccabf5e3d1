//! The abstract syntax tree of a Wasp spec file.
//!
//! Every node carries the byte span it was parsed from, so that later passes can point diagnostics
//! at the exact place in the spec. The tree is plain data: it knows nothing of pest (whose pairs never
//! leave the parser) nor of what a declaration means (that is the analyzer's job).

use serde::Serialize;

/// A half-open byte range `start..end` into the source text of one spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The span shifted right by `offset` bytes (used when a piece of the file is parsed on its own).
    pub fn shifted(self, offset: usize) -> Self {
        Span::new(self.start + offset, self.end + offset)
    }

    /// The smallest span that covers both `self` and `other`.
    pub fn to(self, other: Span) -> Self {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// A whole spec file: its declarations in source order.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Module {
    pub decls: Vec<Decl>,
}

/// One top-level declaration: `<kind> <name> <body>`, e.g. `page MainPage { component: ... }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decl {
    /// The declaration type, e.g. `app`, `entity`, `page`; any identifier is syntactically valid.
    pub kind: Ident,
    pub name: Ident,
    pub body: Expr,
    pub span: Span,
}

/// An identifier with its span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value")]
pub enum ExprKind {
    /// `{ key: value, ... }`, entries in source order (duplicates are kept; the analyzer reports them).
    Dict(Vec<DictEntry>),
    /// `[a, b, ...]`
    List(Vec<Expr>),
    /// `(a, b, ...)`; the parser reports tuples of fewer than 2 items but still builds them.
    Tuple(Vec<Expr>),
    /// A double-quoted string, escapes already decoded.
    String(String),
    /// An integer literal such as `42` or `-7`.
    Integer(i64),
    /// A decimal literal such as `3.14` or `-0.5`.
    Decimal(f64),
    Bool(bool),
    /// A bare identifier: a reference to a declaration or a built-in name (`SQLite`, `String`, ...).
    Var(String),
    /// `import { name } from "@src/..."` or `import name from "@src/..."`.
    Import(ExtImport),
    /// `{=tag ... tag=}`: raw text, kept verbatim.
    Quoter(Quoter),
    /// appc's type extension `T?` (an optional type), written as a postfix `?` after an expression.
    Optional(Box<Expr>),
    /// Stands where the parser could not build an expression; a diagnostic was already reported.
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DictEntry {
    pub key: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtImport {
    pub kind: ImportKind,
    /// The imported name: the default import's local name, or the named import.
    pub name: Ident,
    /// The module path exactly as written (e.g. `@src/server/webSocket.rs`), escapes decoded.
    pub path: String,
    pub path_span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportKind {
    /// `import name from "..."`
    Default,
    /// `import { name } from "..."`
    Named,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quoter {
    pub tag: String,
    /// The raw text between `{=tag` and `tag=}`, exactly as written.
    pub content: String,
    /// Where `content` lies in the file, so that errors inside it (e.g. PSL) point at the right place.
    pub content_span: Span,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }

    /// A short human name for the kind of expression, for messages like "expected a string, found a list".
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            ExprKind::Dict(_) => "a dictionary",
            ExprKind::List(_) => "a list",
            ExprKind::Tuple(_) => "a tuple",
            ExprKind::String(_) => "a string",
            ExprKind::Integer(_) => "an integer",
            ExprKind::Decimal(_) => "a decimal number",
            ExprKind::Bool(_) => "a boolean",
            ExprKind::Var(_) => "an identifier",
            ExprKind::Import(_) => "an external import",
            ExprKind::Quoter(_) => "a quoted block",
            ExprKind::Optional(_) => "an optional type",
            ExprKind::Error => "an invalid expression",
        }
    }
}
