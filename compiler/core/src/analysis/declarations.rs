//! Pass 1: collects the declarations of a spec into a symbol table.
//!
//! It classifies each declaration by its type keyword, rejects unknown keywords and Wasp
//! declarations that appc does not generate yet, reports duplicate names and checks that there is
//! exactly one `app`. Later passes look names up here, so references may point forward.

use super::fields;
use super::suggest;
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{Decl, Expr, Module, Span};
use std::collections::HashMap;
use std::fmt::Display;

/// The declaration types appc understands. A new kind starts here: a variant, its place in
/// `ALL` and its names in `keyword`, `with_article` and `plural`; the exhaustive match in
/// `check_declarations` (`analysis/mod.rs`) then asks for its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeclKind {
    App,
    Entity,
    Type,
    Namespace,
    Page,
    Route,
    Query,
    Action,
    Api,
    ApiNamespace,
}

impl DeclKind {
    /// Every kind, in the order help texts list them.
    const ALL: [DeclKind; 10] = [
        DeclKind::App,
        DeclKind::Entity,
        DeclKind::Type,
        DeclKind::Namespace,
        DeclKind::Page,
        DeclKind::Route,
        DeclKind::Query,
        DeclKind::Action,
        DeclKind::Api,
        DeclKind::ApiNamespace,
    ];

    /// The keyword that starts such a declaration, e.g. `entity`.
    pub fn keyword(self) -> &'static str {
        match self {
            DeclKind::App => "app",
            DeclKind::Entity => "entity",
            DeclKind::Type => "type",
            DeclKind::Namespace => "namespace",
            DeclKind::Page => "page",
            DeclKind::Route => "route",
            DeclKind::Query => "query",
            DeclKind::Action => "action",
            DeclKind::Api => "api",
            DeclKind::ApiNamespace => "apiNamespace",
        }
    }

    /// The keyword with an article, for messages such as "`Main` is a route, not a page".
    pub fn with_article(self) -> &'static str {
        match self {
            DeclKind::App => "an app",
            DeclKind::Entity => "an entity",
            DeclKind::Type => "a type",
            DeclKind::Namespace => "a namespace",
            DeclKind::Page => "a page",
            DeclKind::Route => "a route",
            DeclKind::Query => "a query",
            DeclKind::Action => "an action",
            DeclKind::Api => "an api",
            DeclKind::ApiNamespace => "an apiNamespace",
        }
    }

    /// The plural, for help texts such as "the entities are `Message` and `User`".
    pub fn plural(self) -> &'static str {
        match self {
            DeclKind::App => "apps",
            DeclKind::Entity => "entities",
            DeclKind::Type => "types",
            DeclKind::Namespace => "namespaces",
            DeclKind::Page => "pages",
            DeclKind::Route => "routes",
            DeclKind::Query => "queries",
            DeclKind::Action => "actions",
            DeclKind::Api => "apis",
            DeclKind::ApiNamespace => "apiNamespaces",
        }
    }

    fn from_keyword(keyword: &str) -> Option<DeclKind> {
        DeclKind::ALL
            .into_iter()
            .find(|kind| kind.keyword() == keyword)
    }
}

/// Wasp declarations that appc recognises but does not generate yet, with what they are.
const NOT_YET_SUPPORTED: [(&str, &str); 2] =
    [("job", "background jobs"), ("crud", "CRUD operations")];

/// Names of built-in types, which declarations may not take (a payload type `String` would be
/// ambiguous). The first six are the payload types, the rest Prisma's other scalars.
pub const BUILT_IN_TYPE_NAMES: [&str; 10] = [
    "String", "Int", "Float", "Bool", "DateTime", "Json", "Boolean", "BigInt", "Decimal", "Bytes",
];

/// Every declaration appc understands, by name and by kind, in source order.
pub struct Declarations<'a> {
    /// The first `app` declaration, if any.
    pub app: Option<&'a Decl>,
    /// The declarations that survived collection (the first of any duplicate name), in source order.
    pub all: Vec<(DeclKind, &'a Decl)>,
    by_name: HashMap<&'a str, (DeclKind, &'a Decl)>,
}

impl<'a> Declarations<'a> {
    /// The declarations of one kind, in source order.
    pub fn of_kind(&self, kind: DeclKind) -> impl Iterator<Item = &'a Decl> + '_ {
        self.all
            .iter()
            .filter(move |(decl_kind, _)| *decl_kind == kind)
            .map(|(_, decl)| *decl)
    }

    pub fn lookup(&self, name: &str) -> Option<(DeclKind, &'a Decl)> {
        self.by_name.get(name).copied()
    }

    /// The names of every declaration of `kind`, for suggestions.
    pub fn names_of_kind(&self, kind: DeclKind) -> Vec<&'a str> {
        self.of_kind(kind)
            .map(|decl| decl.name.name.as_str())
            .collect()
    }

    /// Resolves a reference to a declaration of `expected` kind, reporting a name that is not
    /// declared (with a did-you-mean) or that is declared as something else.
    pub fn resolve(
        &self,
        name: &str,
        span: Span,
        expected: DeclKind,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<&'a Decl> {
        match self.lookup(name) {
            Some((kind, decl)) if kind == expected => Some(decl),
            Some((kind, decl)) => {
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "`{name}` is {}, not {}",
                            kind.with_article(),
                            expected.with_article()
                        ),
                        span,
                        format!("expected {}", expected.with_article()),
                    )
                    .with_secondary(
                        decl.name.span,
                        format!("`{name}` is declared here as {}", kind.with_article()),
                    )
                    .with_help(self.help_for_wrong_kind(expected)),
                );
                None
            }
            None => {
                diagnostics.push(
                    Diagnostic::error(
                        format!("cannot find {} `{name}`", expected.keyword()),
                        span,
                        format!("no {} named `{name}`", expected.keyword()),
                    )
                    .with_help(self.help_for_missing(name, expected)),
                );
                None
            }
        }
    }

    /// `[Message, User]`: every item names a declared entity, once. Returns the names in order.
    pub fn resolve_entity_list(
        &self,
        value: &Expr,
        what: &dyn Display,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Vec<String>> {
        let items = fields::expect_list(value, what, diagnostics)?;
        let mut names: Vec<(String, Span)> = Vec::new();
        let mut ok = true;
        for item in items {
            let Some((name, span)) =
                fields::expect_reference(item, &format_args!("an item of {what}"), diagnostics)
            else {
                ok = false;
                continue;
            };
            if self
                .resolve(name, span, DeclKind::Entity, diagnostics)
                .is_none()
            {
                ok = false;
                continue;
            }
            if let Some((_, first)) = names.iter().find(|(seen, _)| seen == name) {
                diagnostics.push(
                    Diagnostic::error(
                        format!("entity `{name}` is listed twice in {what}"),
                        span,
                        "listed again here",
                    )
                    .with_secondary(*first, "first listed here")
                    .with_help("remove one of them"),
                );
                ok = false;
                continue;
            }
            names.push((name.to_string(), span));
        }
        ok.then(|| names.into_iter().map(|(name, _)| name).collect())
    }

    /// The declarations of the expected kind when few, or how to declare one.
    fn help_for_wrong_kind(&self, expected: DeclKind) -> String {
        let candidates = self.names_of_kind(expected);
        if candidates.is_empty() || candidates.len() > suggest::SHORT_LIST {
            return format!(
                "refer to {} here, declared with `{} Name ...`",
                expected.with_article(),
                expected.keyword()
            );
        }
        format!(
            "refer to {} here: the {} are {}",
            expected.with_article(),
            expected.plural(),
            suggest::quoted_list(candidates.iter().copied())
        )
    }

    /// "did you mean `Message`?" and the candidates when few, or how to declare the name.
    pub fn help_for_missing(&self, name: &str, expected: DeclKind) -> String {
        let candidates = self.names_of_kind(expected);
        suggest::help_for_unknown(name, &candidates, expected.plural(), || {
            format!("declare it with `{} {name} ...`", expected.keyword())
        })
    }
}

/// Collects the declarations of `module`, reporting unknown and unsupported declaration types,
/// duplicate names, names that shadow built-in types, and a missing or repeated `app`.
pub fn collect<'a>(module: &'a Module, diagnostics: &mut Vec<Diagnostic>) -> Declarations<'a> {
    let mut declarations = Declarations {
        app: None,
        all: Vec::with_capacity(module.decls.len()),
        by_name: HashMap::with_capacity(module.decls.len()),
    };
    for decl in &module.decls {
        let keyword = decl.kind.name.as_str();
        let Some(kind) = DeclKind::from_keyword(keyword) else {
            report_unknown_kind(decl, diagnostics);
            continue;
        };
        if kind == DeclKind::App
            && let Some(first_app) = declarations.app
        {
            diagnostics.push(
                Diagnostic::error(
                    "a spec has exactly one `app` declaration",
                    decl.name.span,
                    "second `app` declaration",
                )
                .with_secondary(first_app.name.span, "first `app` declared here")
                .with_help(format!(
                    "merge the two into `app {}` and remove this one",
                    first_app.name.name
                )),
            );
            continue;
        }
        let name = decl.name.name.as_str();
        if let Some((first_kind, first_decl)) = declarations.by_name.get(name) {
            diagnostics.push(
                Diagnostic::error(
                    format!("the name `{name}` is declared twice"),
                    decl.name.span,
                    format!("`{name}` declared again here as {}", kind.with_article()),
                )
                .with_secondary(
                    first_decl.name.span,
                    format!("first declared here as {}", first_kind.with_article()),
                )
                .with_help("every declaration needs its own name; rename or remove one of them"),
            );
            continue;
        }
        if matches!(kind, DeclKind::Entity | DeclKind::Type) && BUILT_IN_TYPE_NAMES.contains(&name)
        {
            diagnostics.push(
                Diagnostic::error(
                    format!("`{name}` is a built-in type and cannot be declared"),
                    decl.name.span,
                    "built-in type name",
                )
                .with_help(format!(
                    "choose another name for this {}, e.g. `My{name}`",
                    kind.keyword()
                )),
            );
            continue;
        }
        if kind == DeclKind::App {
            declarations.app = Some(decl);
        }
        declarations.all.push((kind, decl));
        declarations.by_name.insert(name, (kind, decl));
    }
    if declarations.app.is_none() {
        diagnostics.push(
            Diagnostic::error(
                "the spec has no `app` declaration",
                Span::new(0, 0),
                "expected an `app` declaration in this file",
            )
            .with_help("add `app MyApp { title: \"My App\" }`"),
        );
    }
    declarations
}

fn report_unknown_kind(decl: &Decl, diagnostics: &mut Vec<Diagnostic>) {
    let keyword = decl.kind.name.as_str();
    let name = decl.name.name.as_str();
    if let Some((_, what)) = NOT_YET_SUPPORTED
        .iter()
        .find(|(unsupported, _)| *unsupported == keyword)
    {
        let help =
            format!("remove `{keyword} {name}`; appc will generate {what} in a later version");
        diagnostics.push(
            Diagnostic::error(
                format!("`{keyword}` declarations are not supported by appc yet"),
                decl.kind.span.to(decl.name.span),
                format!("appc does not generate {what} yet"),
            )
            .with_help(help),
        );
        return;
    }
    let known: Vec<&str> = DeclKind::ALL
        .iter()
        .map(|kind| kind.keyword())
        .chain(NOT_YET_SUPPORTED.iter().map(|(keyword, _)| *keyword))
        .collect();
    let help = match suggest::closest(keyword, known.iter().copied()) {
        Some(suggestion) => format!("did you mean `{suggestion}`?"),
        None => format!(
            "a declaration starts with one of {}",
            suggest::quoted_alternatives(DeclKind::ALL.iter().map(|kind| kind.keyword()))
        ),
    };
    diagnostics.push(
        Diagnostic::error(
            format!("unknown declaration type `{keyword}`"),
            decl.kind.span,
            "unknown declaration type",
        )
        .with_help(help),
    );
}
