//! Pages and routes: `page.component` imports a `.tsx`/`.jsx` file and `route.to` names a page.
//! Routes keep the span of their path for the rule that route paths are unique.

use super::context::Context;
use super::declarations::DeclKind;
use super::fields::{self, DictShape, FieldSpec};
use super::imports::COMPONENT_EXTENSIONS;
use super::ir::{Page, Route};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{Decl, Span};

const PAGE_FIELDS: [FieldSpec; 2] = [
    FieldSpec::required(
        "component",
        "component: import { MainPage } from \"@src/client/MainPage.tsx\"",
    ),
    FieldSpec::optional("authRequired"),
];
const PAGE_UNSUPPORTED: [&str; 1] = ["ssr"];
const ROUTE_UNSUPPORTED: [&str; 1] = ["lazy"];
const ROUTE_FIELDS: [FieldSpec; 2] = [
    FieldSpec::required("path", "path: \"/\""),
    FieldSpec::required("to", "to: MainPage"),
];

/// Checks a `page`: its component import and `authRequired`, which needs `auth` in the app
/// (`app_has_auth`).
pub fn check_page(
    decl: &Decl,
    context: &mut Context,
    app_has_auth: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Page> {
    let page_name = &decl.name.name;
    let owner = format_args!("page `{page_name}`");
    let shape = DictShape {
        owner: &owner,
        owner_span: decl.name.span,
        fields: &PAGE_FIELDS,
        unsupported: &PAGE_UNSUPPORTED,
        unsupported_help: None,
    };
    let fields = fields::check_dict(&decl.body, &shape, diagnostics)?;
    let component = fields.get("component").and_then(|value| {
        let what = format_args!("`component` of {owner}");
        let import = fields::expect_import(value, &what, diagnostics)?;
        context
            .imports
            .client_import(import, &what, &COMPONENT_EXTENSIONS, diagnostics)
    });
    let auth_required = match fields.entry("authRequired") {
        Some(entry) => fields::expect_auth_flag(entry, &owner, app_has_auth, diagnostics),
        None => Some(false),
    };
    Some(Page {
        name: decl.name.name.clone(),
        component: component?,
        auth_required: auth_required?,
    })
}

/// A checked route with the span of its path, for the uniqueness check.
pub struct CheckedRoute {
    pub route: Route,
    pub path_span: Span,
}

/// Checks a `route`: its path and the page it shows.
pub fn check_route(
    decl: &Decl,
    context: &Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CheckedRoute> {
    let route_name = &decl.name.name;
    let owner = format_args!("route `{route_name}`");
    let shape = DictShape {
        owner: &owner,
        owner_span: decl.name.span,
        fields: &ROUTE_FIELDS,
        unsupported: &ROUTE_UNSUPPORTED,
        unsupported_help: None,
    };
    let fields = fields::check_dict(&decl.body, &shape, diagnostics)?;
    let path_value = fields.get("path");
    let path = path_value.and_then(|value| {
        let path = fields::expect_string(value, &format_args!("`path` of {owner}"), diagnostics)?;
        // `*` is React Router's catch-all route, for "not found" pages.
        if !path.starts_with('/') && path != "*" {
            diagnostics.push(
                Diagnostic::error(
                    format!("the path of {owner} must start with `/`"),
                    value.span,
                    "not an absolute path",
                )
                .with_help(format!(
                    "write `\"/{path}\"` (or `\"*\"` for a catch-all route)"
                )),
            );
            return None;
        }
        Some(path.to_string())
    });
    let page = fields.get("to").and_then(|value| {
        let (name, span) =
            fields::expect_reference(value, &format_args!("`to` of {owner}"), diagnostics)?;
        context
            .declarations
            .resolve(name, span, DeclKind::Page, diagnostics)?;
        Some(name.to_string())
    });
    Some(CheckedRoute {
        route: Route {
            name: decl.name.name.clone(),
            path: path?,
            page: page?,
        },
        path_span: path_value?.span,
    })
}
