//! `app.auth`: the user entity, the login methods and the redirects, and what username-and-password
//! auth needs from the user entity.

use super::checked_entity::CheckedEntity;
use super::context::Context;
use super::declarations::DeclKind;
use super::fields::{self, DictShape, FieldSpec};
use super::ir::{Auth, AuthMethods, EntityFieldKind, ScalarType};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{Expr, ExprKind, Span};

/// A redirect path of `auth` with where it is written, for the check that a route serves it.
pub struct Redirect {
    /// The field, e.g. `onAuthFailedRedirectTo`.
    pub key: &'static str,
    pub path: String,
    pub span: Span,
}

const AUTH_FIELDS: [FieldSpec; 4] = [
    FieldSpec::required("userEntity", "userEntity: User"),
    FieldSpec::required("methods", "methods: { usernameAndPassword: {} }"),
    FieldSpec::required(
        "onAuthFailedRedirectTo",
        "onAuthFailedRedirectTo: \"/login\"",
    ),
    FieldSpec::optional("onAuthSucceededRedirectTo"),
];
const AUTH_UNSUPPORTED: [&str; 8] = [
    "externalAuthEntity",
    "signup",
    "onBeforeSignup",
    "onAfterSignup",
    "onAfterEmailVerified",
    "onBeforeOAuthRedirect",
    "onBeforeLogin",
    "onAfterLogin",
];

const AUTH_METHOD_FIELDS: [FieldSpec; 1] = [FieldSpec::optional("usernameAndPassword")];
const AUTH_METHODS_UNSUPPORTED: [&str; 7] = [
    "email",
    "google",
    "gitHub",
    "discord",
    "keycloak",
    "slack",
    "microsoft",
];
const USERNAME_AND_PASSWORD_UNSUPPORTED: [&str; 1] = ["userSignupFields"];

pub fn check_auth(
    value: &Expr,
    key_span: Span,
    context: &mut Context,
    redirects: &mut Vec<Redirect>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Auth> {
    let shape = DictShape {
        owner: &"`auth`",
        owner_span: key_span,
        fields: &AUTH_FIELDS,
        unsupported: &AUTH_UNSUPPORTED,
        unsupported_help: None,
    };
    let fields = fields::check_dict(value, &shape, diagnostics)?;
    let methods = fields
        .entry("methods")
        .and_then(|entry| check_auth_methods(&entry.value, entry.key.span, diagnostics));
    let user_entity = fields.get("userEntity").and_then(|value| {
        let (name, span) = fields::expect_reference(value, &"`auth.userEntity`", diagnostics)?;
        context
            .declarations
            .resolve(name, span, DeclKind::Entity, diagnostics)?;
        Some((name, span))
    });
    if let (Some((name, span)), Some(methods)) = (user_entity, &methods)
        && methods.username_and_password
    {
        check_username_field(name, span, context.entities, diagnostics);
    }
    let mut redirect = |key: &'static str, diagnostics: &mut Vec<Diagnostic>| {
        fields.get(key).and_then(|value| {
            let path = fields::expect_string(value, &format_args!("`auth.{key}`"), diagnostics)?;
            if !path.starts_with('/') {
                diagnostics.push(
                    Diagnostic::error(
                        format!("`auth.{key}` must be a path that starts with `/`"),
                        value.span,
                        "not an app path",
                    )
                    .with_help(format!(
                        "write e.g. `\"/{}\"`",
                        path.trim_start_matches('/')
                    )),
                );
                return None;
            }
            redirects.push(Redirect {
                key,
                path: path.to_string(),
                span: value.span,
            });
            Some(path.to_string())
        })
    };
    let on_failed = redirect("onAuthFailedRedirectTo", diagnostics);
    let on_succeeded = match fields.get("onAuthSucceededRedirectTo") {
        Some(_) => redirect("onAuthSucceededRedirectTo", diagnostics),
        None => Some("/".to_string()),
    };
    Some(Auth {
        user_entity: user_entity?.0.to_string(),
        methods: methods?,
        on_auth_failed_redirect_to: on_failed?,
        on_auth_succeeded_redirect_to: on_succeeded?,
    })
}

fn check_auth_methods(
    value: &Expr,
    key_span: Span,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<AuthMethods> {
    let shape = DictShape {
        owner: &"`auth.methods`",
        owner_span: key_span,
        fields: &AUTH_METHOD_FIELDS,
        unsupported: &AUTH_METHODS_UNSUPPORTED,
        unsupported_help: Some("appc supports `usernameAndPassword` only for now"),
    };
    let fields = fields::check_dict(value, &shape, diagnostics)?;
    let username_and_password = match fields.entry("usernameAndPassword") {
        Some(entry) => {
            let shape = DictShape {
                owner: &"`usernameAndPassword`",
                owner_span: entry.key.span,
                fields: &[],
                unsupported: &USERNAME_AND_PASSWORD_UNSUPPORTED,
                unsupported_help: None,
            };
            fields::check_dict(&entry.value, &shape, diagnostics)?;
            true
        }
        None => false,
    };
    let is_empty = matches!(&value.kind, ExprKind::Dict(entries) if entries.is_empty());
    if !username_and_password {
        if is_empty {
            diagnostics.push(
                Diagnostic::error(
                    "`auth.methods` enables no login method",
                    value.span,
                    "no method",
                )
                .with_help("add `usernameAndPassword: {}`"),
            );
        }
        return None;
    }
    Some(AuthMethods {
        username_and_password,
    })
}

/// The column the runtime adds to the user table for password hashes; the spec cannot declare it.
const PASSWORD_HASH_FIELD: &str = "passwordHash";

/// The runtime identifies users by an integer or string id (it goes into the token's `sub`), and
/// keeps password hashes in a column of its own.
fn check_user_id_and_password_hash(
    entity: &CheckedEntity,
    reference_span: Span,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let entity_name = entity.name();
    if let Some(id_field) = entity.field(&entity.id_field)
        && !matches!(
            id_field.field.kind,
            EntityFieldKind::Scalar {
                scalar: ScalarType::Int | ScalarType::BigInt | ScalarType::String
            }
        )
    {
        diagnostics.push(
            Diagnostic::error(
                format!("the id of user entity `{entity_name}` must be an `Int` or a `String`"),
                id_field.name_span,
                "neither `Int` nor `String`",
            )
            .with_secondary(reference_span, "used as the user entity here")
            .with_help("declare it as `id Int @id @default(autoincrement())` or `id String @id @default(uuid())`"),
        );
    }
    // The runtime's auth routes read the user's row by column names (`username`, the hash) and
    // send it to clients as JSON keyed by column, so a mapped column would change both.
    for mapped in entity
        .fields
        .iter()
        .filter(|field| field.map_span.is_some())
    {
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "field `{}` of user entity `{entity_name}` has `@map`, which the user entity cannot use yet",
                    mapped.field.name
                ),
                mapped.map_span.expect("filtered on it"),
                "a mapped column of the user entity",
            )
            .with_secondary(reference_span, "used as the user entity here")
            .with_help("remove `@map` from the user entity's fields (the auth routes read and send its columns by name); `@@map` on the entity is fine"),
        );
    }
    if let Some(password_hash) = entity.field(PASSWORD_HASH_FIELD) {
        diagnostics.push(
            Diagnostic::error(
                format!("the user entity `{entity_name}` declares `{PASSWORD_HASH_FIELD}`, which appc manages itself"),
                password_hash.name_span,
                "reserved for the password hash",
            )
            .with_secondary(reference_span, "used as the user entity here")
            .with_help(format!(
                "remove or rename this field: appc adds `{PASSWORD_HASH_FIELD}` to the user table and never sends it to clients"
            )),
        );
    }
}

/// Username-and-password auth stores the login name in a unique `String` field `username`.
fn check_username_field(
    entity_name: &str,
    reference_span: Span,
    entities: &[CheckedEntity],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(entity) = entities
        .iter()
        .find(|checked| checked.name() == entity_name)
    else {
        return;
    };
    check_user_id_and_password_hash(entity, reference_span, diagnostics);
    let Some(username) = entity.field("username") else {
        diagnostics.push(
            Diagnostic::error(
                format!("the user entity `{entity_name}` has no `username` field"),
                reference_span,
                "used as the user entity here",
            )
            .with_secondary(entity.decl.name.span, format!("`{entity_name}` declared here"))
            .with_help(format!(
                "add `username String @unique` to entity `{entity_name}`: username-and-password auth stores the login name there"
            )),
        );
        return;
    };
    let (field, field_span) = (&username.field, username.name_span);
    let is_string = matches!(
        field.kind,
        EntityFieldKind::Scalar {
            scalar: ScalarType::String
        }
    );
    if !is_string || field.optional || field.list {
        diagnostics.push(
            Diagnostic::error(
                format!("the `username` field of user entity `{entity_name}` must be a required `String`"),
                field_span,
                "not a required `String`",
            )
            .with_secondary(reference_span, "used as the user entity here")
            .with_help("declare it as `username String @unique`"),
        );
        return;
    }
    let is_unique = entity
        .unique_constraints
        .iter()
        .any(|group| group.len() == 1 && group[0] == "username")
        || entity.id_field == "username";
    if !is_unique {
        diagnostics.push(
            Diagnostic::error(
                format!("the `username` field of user entity `{entity_name}` must be unique"),
                field_span,
                "not `@unique`",
            )
            .with_secondary(reference_span, "used as the user entity here")
            .with_help("add `@unique`: `username String @unique`"),
        );
    }
}
