//! HS256 JSON Web Tokens for the benchmarks: the load generator mints one token per simulated
//! user, and the stand-in server verifies the token it finds in the handshake's `auth.token`.
//!
//! Only the HS256 algorithm is supported, because that is what appc's runtime and Wasp issue.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The claims the benchmark tokens carry; the same shape appc's runtime issues on login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user name the chat shows next to a message.
    pub username: String,
    /// When the token was issued, in seconds since the Unix epoch. appc's runtime requires it.
    #[serde(default)]
    pub iat: u64,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: u64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token does not have three dot-separated parts")]
    Malformed,
    #[error("the token header does not declare the HS256 algorithm")]
    WrongAlgorithm,
    #[error("the token signature does not match the shared secret")]
    BadSignature,
    #[error("the token claims are not valid JSON with sub, username and exp")]
    BadClaims,
    #[error("the token expired")]
    Expired,
}

const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Mints an HS256 token for `claims`, signed with `secret`.
pub fn mint(secret: &[u8], claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(HEADER_JSON);
    let payload = URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(claims).expect("serialising three plain fields cannot fail"));
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(sign(secret, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// Verifies an HS256 token with `secret` and returns its claims if the signature matches and the
/// token has not expired at `now_unix_seconds`.
pub fn verify(secret: &[u8], token: &str, now_unix_seconds: u64) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| JwtError::Malformed)?;
    let header_value: serde_json::Value =
        serde_json::from_slice(&header_json).map_err(|_| JwtError::Malformed)?;
    if header_value.get("alg").and_then(|alg| alg.as_str()) != Some("HS256") {
        return Err(JwtError::WrongAlgorithm);
    }
    let signature_bytes = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Malformed)?;
    let signing_input_length = header.len() + 1 + payload.len();
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(&token.as_bytes()[..signing_input_length]);
    // verify_slice compares in constant time.
    mac.verify_slice(&signature_bytes)
        .map_err(|_| JwtError::BadSignature)?;
    let payload_json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| JwtError::BadClaims)?;
    let claims: Claims = serde_json::from_slice(&payload_json).map_err(|_| JwtError::BadClaims)?;
    if claims.exp <= now_unix_seconds {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

/// Seconds since the Unix epoch, for expiry checks.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

fn sign(secret: &[u8], signing_input: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(signing_input);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            sub: "7".to_string(),
            username: "user-7".to_string(),
            iat: 1_700_000_000,
            exp: 4_000_000_000,
        }
    }

    #[test]
    fn a_minted_token_verifies_with_the_same_secret() {
        let token = mint(b"secret", &claims());
        assert_eq!(verify(b"secret", &token, 1_000), Ok(claims()));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let token = mint(b"other", &claims());
        assert_eq!(
            verify(b"secret", &token, 1_000),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let token = mint(b"secret", &claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"sub":"1","username":"admin","exp":4000000000}"#);
        parts[1] = &forged;
        assert_eq!(
            verify(b"secret", &parts.join("."), 1_000),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn an_expired_token_is_refused() {
        let token = mint(b"secret", &claims());
        assert_eq!(
            verify(b"secret", &token, 4_000_000_001),
            Err(JwtError::Expired)
        );
        assert_eq!(verify(b"secret", "a.b", 0), Err(JwtError::Malformed));
    }
}
