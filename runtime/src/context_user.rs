//! What a context's `user` can be ([`ContextUser`]: the spec's user entity, an `Option` of it,
//! or [`NoUser`]), and [`ConnectionUser`], the user one connection decodes once when it
//! connects. A leaf beside `context.rs`, so that the socket middleware, which decodes the user,
//! and the context, which carries it, need not import each other; see the docs of
//! [`SocketContext`](crate::SocketContext) for the design.

use std::sync::Arc;

use crate::auth::AuthUser;
use crate::db::{DbError, Entity};

/// The `user` of a context in an app without `auth` in `main.wasp`: there is no user entity, and
/// no socket can log in. To have users, add `auth: { userEntity: User, methods: {
/// usernameAndPassword: {} }, onAuthFailedRedirectTo: "/login" }` to the app; `ctx.user` then
/// becomes that entity (or an `Option` of it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NoUser;

/// What a context's `user` can be: the user entity (a namespace with `auth: true`), an `Option`
/// of it (other namespaces), or [`NoUser`] (an app without auth). Built once per connection
/// from the token's user (see the docs of
/// [`SocketContext`](crate::SocketContext)).
pub trait ContextUser: Clone + Send + Sync + 'static {
    /// The context user of a socket whose token gave `auth_user` (`None`: no valid token).
    fn from_auth_user(auth_user: Option<&AuthUser>) -> Result<Self, ContextUserError>;
}

/// An app without auth: tokens give no user there, so nothing is decoded.
impl ContextUser for NoUser {
    fn from_auth_user(_: Option<&AuthUser>) -> Result<Self, ContextUserError> {
        Ok(NoUser)
    }
}

/// A namespace that also accepts anonymous sockets.
impl<User: Entity + Clone> ContextUser for Option<User> {
    fn from_auth_user(auth_user: Option<&AuthUser>) -> Result<Self, ContextUserError> {
        auth_user.map(decode_entity::<User>).transpose()
    }
}

/// A namespace with `auth: true`: the connect middleware has refused sockets without a user.
impl<User: Entity + Clone> ContextUser for User {
    fn from_auth_user(auth_user: Option<&AuthUser>) -> Result<Self, ContextUserError> {
        decode_entity(auth_user.ok_or(ContextUserError::Missing)?)
    }
}

fn decode_entity<User: Entity>(auth_user: &AuthUser) -> Result<User, ContextUserError> {
    auth_user
        .to_entity::<User>()
        .map_err(|source| ContextUserError::Decode {
            entity: User::schema().name.clone(),
            source,
        })
}

/// Why a socket's user could not become its context's user.
#[derive(Debug, thiserror::Error)]
pub enum ContextUserError {
    /// The namespace needs a logged-in user and the socket has none.
    #[error(
        "the socket has no logged-in user but its namespace needs one; declare the namespace with `auth: true` so that anonymous sockets are refused"
    )]
    Missing,
    /// The user's row does not decode as the user entity.
    #[error(
        "the user's row does not decode as the `{entity}` entity: {source}; migrate the database to the entity in main.wasp"
    )]
    Decode {
        /// The user entity.
        entity: String,
        /// What did not decode.
        source: DbError,
    },
}

/// One connection's user, decoded once when the socket connects: the typed user every context
/// of the socket copies, and the token's [`AuthUser`] behind it.
#[derive(Debug, Clone)]
pub struct ConnectionUser<User> {
    pub(crate) user: User,
    pub(crate) auth_user: Option<Arc<AuthUser>>,
}

impl<User: ContextUser> ConnectionUser<User> {
    /// Decodes the user of a socket whose token gave `auth_user`.
    pub fn decode(auth_user: Option<AuthUser>) -> Result<Self, ContextUserError> {
        Ok(ConnectionUser {
            user: User::from_auth_user(auth_user.as_ref())?,
            auth_user: auth_user.map(Arc::new),
        })
    }

    /// The typed user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The token's user, with the token's claims; `None` for an anonymous socket.
    pub fn auth_user(&self) -> Option<&AuthUser> {
        self.auth_user.as_deref()
    }
}

/// The user of a socket without a token in an app without auth (and of tests).
impl Default for ConnectionUser<NoUser> {
    fn default() -> Self {
        ConnectionUser {
            user: NoUser,
            auth_user: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{ColumnSchema, IntoColumns, Row, SqlType, TableSchema, Value};
    use std::sync::LazyLock;

    #[derive(Debug, Clone, PartialEq)]
    struct Member {
        id: i64,
    }

    struct NoColumns;

    impl IntoColumns for NoColumns {
        fn into_columns(self) -> Vec<(&'static str, Value)> {
            Vec::new()
        }
    }

    static MEMBER_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
        TableSchema::new("Member").column(ColumnSchema::new("id", SqlType::Integer).primary_key())
    });

    impl Entity for Member {
        type Id = i64;
        type New = NoColumns;
        type Update = NoColumns;

        fn schema() -> &'static TableSchema {
            &MEMBER_SCHEMA
        }

        fn from_row(row: &Row) -> Result<Self, DbError> {
            Ok(Member { id: row.get("id")? })
        }
    }

    #[test]
    fn an_anonymous_socket_has_no_user_where_one_is_optional_and_none_is_declared() {
        assert_eq!(Option::<Member>::from_auth_user(None).unwrap(), None);
        assert_eq!(NoUser::from_auth_user(None).unwrap(), NoUser);
        let user = ConnectionUser::<Option<Member>>::decode(None).unwrap();
        assert_eq!(user.user(), &None);
        assert!(user.auth_user().is_none());
    }

    #[test]
    fn a_required_user_without_a_token_is_an_error_that_says_what_to_declare() {
        let error = Member::from_auth_user(None).unwrap_err();
        assert!(matches!(error, ContextUserError::Missing));
        assert!(error.to_string().contains("`auth: true`"), "{error}");
    }
}
