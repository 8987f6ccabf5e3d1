//! The TLS settings of a `postgres://` `DATABASE_URL`: `sslmode`, `sslrootcert`, `sslcert` and
//! `sslkey` (libpq's names, and the aliases sqlx also reads). The configuration checks them once
//! at start-up ([`check_postgres_tls_settings`]), so that a misspelt mode or a missing certificate
//! file is one clear line instead of a failed connection later; [`Database::connect`] reads them
//! again to apply libpq's rule that a root certificate makes `sslmode=require` verify the server.
//!
//! A leaf of the `db` module graph: it only reads the url and the files it names.
//!
//! [`Database::connect`]: super::Database::connect

use std::path::PathBuf;

use sqlx::postgres::PgSslMode;

/// The `sslmode` values PostgreSQL's clients accept, in the order of the protection they give.
pub(crate) const SSL_MODE_NAMES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// The TLS parameters a `postgres://` url sets; `None` where it leaves them to the defaults (and
/// to the `PGSSLMODE`-style variables sqlx reads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PostgresTlsSettings {
    /// `sslmode`, lower-cased and known to be one of [`SSL_MODE_NAMES`].
    pub(crate) ssl_mode: Option<String>,
    /// `sslrootcert`: the PEM file of the authority that signed the server's certificate.
    pub(crate) root_certificate: Option<PathBuf>,
    /// `sslcert`: the client's certificate (PEM), for servers that ask for one.
    pub(crate) client_certificate: Option<PathBuf>,
    /// `sslkey`: the client certificate's private key (PEM).
    pub(crate) client_key: Option<PathBuf>,
}

impl PostgresTlsSettings {
    /// Reads the TLS parameters of `url`. The error says which parameter is wrong and what to
    /// write instead; it never repeats the url, which may hold a password.
    pub(crate) fn from_url(url: &str) -> Result<PostgresTlsSettings, String> {
        let parsed = url::Url::parse(url).map_err(|error| {
            format!(
                "DATABASE_URL is not a valid url ({error}); write it as postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=require"
            )
        })?;
        let mut settings = PostgresTlsSettings::default();
        // A parameter given twice counts with its last value, as in sqlx.
        for (key, value) in parsed.query_pairs() {
            match &*key {
                "sslmode" | "ssl-mode" => {
                    let mode = value.to_ascii_lowercase();
                    if !SSL_MODE_NAMES.contains(&mode.as_str()) {
                        return Err(format!(
                            "DATABASE_URL has sslmode `{value}`, which PostgreSQL does not know; use one of {} (hosted PostgreSQL usually needs require)",
                            SSL_MODE_NAMES.join(", ")
                        ));
                    }
                    settings.ssl_mode = Some(mode);
                }
                "sslrootcert" | "ssl-root-cert" | "ssl-ca" => {
                    settings.root_certificate = Some(PathBuf::from(&*value));
                }
                "sslcert" | "ssl-cert" => {
                    settings.client_certificate = Some(PathBuf::from(&*value))
                }
                "sslkey" | "ssl-key" => settings.client_key = Some(PathBuf::from(&*value)),
                _ => {}
            }
        }
        Ok(settings)
    }

    /// In a server built without TLS (the runtime's `postgres-tls` feature, which apps whose spec
    /// says `db.system: PostgreSQL` build in), refuses a url that asks for TLS rather than let it
    /// fail at the first connection. `disable`, `allow` and `prefer` connect unencrypted.
    fn refuse_without_tls_built_in(&self) -> Result<(), String> {
        let demands_tls = matches!(
            self.ssl_mode.as_deref(),
            Some("require" | "verify-ca" | "verify-full")
        );
        let names_certificates = self.root_certificate.is_some()
            || self.client_certificate.is_some()
            || self.client_key.is_some();
        if demands_tls || names_certificates {
            let asked = match &self.ssl_mode {
                Some(mode) if demands_tls => format!("sslmode={mode}"),
                _ => "certificate files".to_owned(),
            };
            return Err(format!(
                "DATABASE_URL asks for TLS ({asked}), but this server was built without TLS to PostgreSQL; write `db: {{ system: PostgreSQL }}` in main.wasp and build again (appc builds TLS into PostgreSQL apps), or use sslmode=disable on a trusted network"
            ));
        }
        Ok(())
    }

    /// Checks that every certificate and key file the url names can be read and holds what its
    /// parameter expects, so that a wrong path fails at start-up with the parameter's name.
    pub(crate) fn check_files(&self) -> Result<(), String> {
        let files = [
            (
                "sslrootcert",
                &self.root_certificate,
                "CERTIFICATE-----",
                "the PEM file of the certificate authority that signed the server's certificate",
            ),
            (
                "sslcert",
                &self.client_certificate,
                "CERTIFICATE-----",
                "the PEM file of the client certificate the server expects",
            ),
            (
                "sslkey",
                &self.client_key,
                "PRIVATE KEY-----",
                "the PEM file of the client certificate's private key",
            ),
        ];
        for (parameter, path, pem_marker, what_it_should_be) in files {
            let Some(path) = path else { continue };
            let problem = match std::fs::read(path) {
                Ok(contents) if contains(&contents, pem_marker.as_bytes()) => continue,
                Ok(_) => "holds no PEM block of that kind".to_owned(),
                Err(error) => format!("cannot be read ({error})"),
            };
            return Err(format!(
                "DATABASE_URL's {parameter} `{}` {problem}; set it to {what_it_should_be}",
                path.display()
            ));
        }
        Ok(())
    }

    /// The mode to connect with when the url sets one: its own, except that `require` with a
    /// root certificate verifies the server against that certificate (`verify-ca`), as libpq
    /// does and sqlx documents, rather than accepting any certificate and ignoring the file.
    pub(crate) fn effective_ssl_mode(&self) -> Option<PgSslMode> {
        let mode = self.ssl_mode.as_deref()?;
        Some(match mode {
            "require" if self.root_certificate.is_some() => PgSslMode::VerifyCa,
            other => ssl_mode_from_name(other),
        })
    }
}

/// Checks the TLS parameters of a `postgres://` url and the files they name; the error is one
/// line that names the parameter and says what to write.
pub(crate) fn check_postgres_tls_settings(url: &str) -> Result<(), String> {
    let settings = PostgresTlsSettings::from_url(url)?;
    if !cfg!(feature = "postgres-tls") {
        return settings.refuse_without_tls_built_in();
    }
    settings.check_files()
}

/// `sslmode`'s name for a mode (the word PostgreSQL's documentation and error messages use).
pub(crate) fn ssl_mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
}

/// The mode of a name from [`SSL_MODE_NAMES`] (`from_url` lets no other name through).
fn ssl_mode_from_name(name: &str) -> PgSslMode {
    match name {
        "disable" => PgSslMode::Disable,
        "allow" => PgSslMode::Allow,
        "require" => PgSslMode::Require,
        "verify-ca" => PgSslMode::VerifyCa,
        "verify-full" => PgSslMode::VerifyFull,
        _ => PgSslMode::Prefer,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> PostgresTlsSettings {
        PostgresTlsSettings::from_url(url).expect("the url is valid")
    }

    #[test]
    fn reads_libpq_names_and_sqlx_aliases() {
        let read = settings(
            "postgres://app:secret@db.example.com:5432/app?sslmode=Verify-Full&sslrootcert=/etc/ca.pem&sslcert=client.crt&sslkey=client.key",
        );
        assert_eq!(read.ssl_mode.as_deref(), Some("verify-full"));
        assert_eq!(read.root_certificate, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(read.client_certificate, Some(PathBuf::from("client.crt")));
        assert_eq!(read.client_key, Some(PathBuf::from("client.key")));

        let aliases =
            settings("postgres://db/app?ssl-mode=require&ssl-root-cert=%2Ftmp%2Fmy%20ca.pem");
        assert_eq!(aliases.ssl_mode.as_deref(), Some("require"));
        assert_eq!(
            aliases.root_certificate,
            Some(PathBuf::from("/tmp/my ca.pem"))
        );
        assert_eq!(
            settings("postgres://db/app?ssl-ca=ca.pem").root_certificate,
            Some(PathBuf::from("ca.pem"))
        );
        assert_eq!(
            settings("postgres://db/app"),
            PostgresTlsSettings::default()
        );
    }

    #[test]
    fn an_unknown_sslmode_names_the_valid_ones_without_echoing_the_password() {
        let error = PostgresTlsSettings::from_url("postgres://app:hunter2@db/app?sslmode=requir")
            .expect_err("requir is not a mode");
        assert_eq!(
            error,
            "DATABASE_URL has sslmode `requir`, which PostgreSQL does not know; use one of disable, allow, prefer, require, verify-ca, verify-full (hosted PostgreSQL usually needs require)"
        );
        let error = PostgresTlsSettings::from_url("postgres://app:hunter2@db:99999/app")
            .expect_err("the port is out of range");
        assert!(
            error.starts_with("DATABASE_URL is not a valid url (invalid port number)"),
            "{error}"
        );
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn require_with_a_root_certificate_verifies_the_server_as_libpq_does() {
        let mode = |url: &str| settings(url).effective_ssl_mode().map(ssl_mode_name);
        assert_eq!(mode("postgres://db/app?sslmode=require"), Some("require"));
        assert_eq!(
            mode("postgres://db/app?sslmode=require&sslrootcert=ca.pem"),
            Some("verify-ca")
        );
        assert_eq!(
            mode("postgres://db/app?sslmode=verify-full&sslrootcert=ca.pem"),
            Some("verify-full")
        );
        for name in SSL_MODE_NAMES {
            assert_eq!(
                mode(&format!("postgres://db/app?sslmode={name}")),
                Some(name)
            );
        }
        assert_eq!(mode("postgres://db/app?sslrootcert=ca.pem"), None);
    }

    #[test]
    fn certificate_files_must_exist_and_hold_pem() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let certificate = folder.path().join("ca.pem");
        std::fs::write(
            &certificate,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .expect("writable");
        let key = folder.path().join("client.key");
        std::fs::write(
            &key,
            "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
        )
        .expect("writable");
        let url = |query: String| format!("postgres://db/app?sslmode=verify-full&{query}");

        settings(&url(format!(
            "sslrootcert={}&sslcert={}&sslkey={}",
            certificate.display(),
            certificate.display(),
            key.display()
        )))
        .check_files()
        .expect("every file is there");

        let missing = folder.path().join("missing.pem");
        assert!(!missing.exists());
        let error = settings(&url(format!("sslrootcert={}", missing.display())))
            .check_files()
            .expect_err("the file is missing");
        assert!(
            error.starts_with(&format!(
                "DATABASE_URL's sslrootcert `{}` cannot be read (",
                missing.display()
            )),
            "{error}"
        );
        assert!(
            error.ends_with(
                "; set it to the PEM file of the certificate authority that signed the server's certificate"
            ),
            "{error}"
        );

        let error = settings(&url(format!("sslkey={}", certificate.display())))
            .check_files()
            .expect_err("a certificate is not a key");
        assert_eq!(
            error,
            format!(
                "DATABASE_URL's sslkey `{}` holds no PEM block of that kind; set it to the PEM file of the client certificate's private key",
                certificate.display()
            )
        );
    }

    #[test]
    #[cfg(not(feature = "postgres-tls"))]
    fn a_server_without_tls_refuses_a_url_that_asks_for_it_and_says_how_to_get_it() {
        for (url, asked) in [
            ("postgres://db/app?sslmode=require", "sslmode=require"),
            (
                "postgres://db/app?sslmode=verify-full",
                "sslmode=verify-full",
            ),
            (
                "postgres://db/app?sslrootcert=/etc/ca.pem",
                "certificate files",
            ),
        ] {
            let error = check_postgres_tls_settings(url).expect_err(url);
            assert_eq!(
                error,
                format!(
                    "DATABASE_URL asks for TLS ({asked}), but this server was built without TLS to PostgreSQL; write `db: {{ system: PostgreSQL }}` in main.wasp and build again (appc builds TLS into PostgreSQL apps), or use sslmode=disable on a trusted network"
                )
            );
        }
        for url in [
            "postgres://db/app",
            "postgres://db/app?sslmode=prefer",
            "postgres://db/app?sslmode=allow",
            "postgres://db/app?sslmode=disable",
        ] {
            check_postgres_tls_settings(url).expect(url);
        }
    }
}
