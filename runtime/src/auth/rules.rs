//! The username and password rules for `usernameAndPassword` auth, checked on signup (login
//! checks only the password's upper bound).
//!
//! - A username is 3 to 32 characters: ASCII letters, digits, `_`, `.` and `-`, starting with a
//!   letter or a digit. Usernames are case-insensitive: they are stored and compared in lower
//!   case, so `Alice` and `alice` are the same user.
//! - A password is 8 to 128 characters and not only whitespace. The upper bound keeps hashing
//!   cost bounded; there are no composition rules (length matters most).

use crate::error::HttpError;

/// The shortest accepted username, in characters.
pub const USERNAME_MIN_CHARS: usize = 3;
/// The longest accepted username, in characters.
pub const USERNAME_MAX_CHARS: usize = 32;
/// The shortest accepted password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// The longest accepted password, in characters.
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Checks a username against the rules and returns its stored (lower-case) form.
pub fn normalize_username(username: &str) -> Result<String, HttpError> {
    let length = username.chars().count();
    if length < USERNAME_MIN_CHARS {
        return Err(HttpError::bad_request_field(
            "username",
            format!("username must be at least {USERNAME_MIN_CHARS} characters long"),
        ));
    }
    if length > USERNAME_MAX_CHARS {
        return Err(HttpError::bad_request_field(
            "username",
            format!("username must be at most {USERNAME_MAX_CHARS} characters long"),
        ));
    }
    if let Some(bad) = username
        .chars()
        .find(|character| !is_username_character(*character))
    {
        return Err(HttpError::bad_request_field(
            "username",
            format!(
                "username may only contain letters a-z, digits, `_`, `.` and `-`; `{bad}` is not allowed"
            ),
        ));
    }
    if !username.starts_with(|character: char| character.is_ascii_alphanumeric()) {
        return Err(HttpError::bad_request_field(
            "username",
            "username must start with a letter or a digit",
        ));
    }
    Ok(username.to_ascii_lowercase())
}

fn is_username_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | '-')
}

/// Checks a new password against the rules.
pub fn check_password_rules(password: &str) -> Result<(), HttpError> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(HttpError::bad_request_field(
            "password",
            format!("password must be at least {PASSWORD_MIN_CHARS} characters long"),
        ));
    }
    check_password_length(password)?;
    if password.trim().is_empty() {
        return Err(HttpError::bad_request_field(
            "password",
            "password must not be only whitespace",
        ));
    }
    Ok(())
}

/// Checks only the upper bound, which login applies too: hashing cost grows with the
/// password, and no account can have a longer one.
pub fn check_password_length(password: &str) -> Result<(), HttpError> {
    // Counting stops past the limit, so a huge password costs no more than a long one.
    if password.chars().nth(PASSWORD_MAX_CHARS).is_some() {
        return Err(HttpError::bad_request_field(
            "password",
            format!("password must be at most {PASSWORD_MAX_CHARS} characters long"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn username_message(username: &str) -> String {
        normalize_username(username)
            .unwrap_err()
            .message()
            .to_owned()
    }

    #[test]
    fn usernames_follow_the_documented_rules() {
        assert_eq!(normalize_username("abc").unwrap(), "abc");
        assert_eq!(
            normalize_username("Bob.Smith-2_x").unwrap(),
            "bob.smith-2_x"
        );
        assert_eq!(normalize_username(&"a".repeat(32)).unwrap(), "a".repeat(32));
        assert_eq!(
            username_message("ab"),
            "username must be at least 3 characters long"
        );
        assert_eq!(
            username_message(&"a".repeat(33)),
            "username must be at most 32 characters long"
        );
        assert!(username_message("bob smith").contains("` ` is not allowed"));
        assert!(username_message("bøb").contains("`ø` is not allowed"));
        assert!(username_message("bob'--").contains("`'` is not allowed"));
        assert_eq!(
            username_message("-bob"),
            "username must start with a letter or a digit"
        );
        assert_eq!(
            username_message(".bob"),
            "username must start with a letter or a digit"
        );
    }

    #[test]
    fn passwords_follow_the_documented_rules() {
        assert!(check_password_rules("12345678").is_ok());
        assert!(check_password_rules(&"p".repeat(128)).is_ok());
        assert!(
            check_password_rules("pässwörd").is_ok(),
            "length counts characters, not bytes"
        );
        let message = |password: &str| {
            check_password_rules(password)
                .unwrap_err()
                .message()
                .to_owned()
        };
        assert_eq!(
            message("1234567"),
            "password must be at least 8 characters long"
        );
        assert_eq!(
            message(&"p".repeat(129)),
            "password must be at most 128 characters long"
        );
        assert_eq!(
            message("          "),
            "password must not be only whitespace"
        );
    }
}
