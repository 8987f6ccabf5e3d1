//! PostgreSQL over TLS, when `APPC_TEST_POSTGRES_URL` is set, against the throwaway server of
//! `tests/support/start-postgres.sh`: it runs with `ssl = on` and certificates it makes itself,
//! kept beside its `ssl_cert_file` (`ca.crt` signed the server's certificate, `other-ca.crt` did
//! not). `sslmode=require` encrypts, `verify-full` with the right `sslrootcert` connects, and a
//! wrong root certificate fails at once with a message that says what to check.
//!
//! Only with the runtime's `postgres-tls` feature (`cargo test -p appc-runtime --features
//! postgres-tls`, as `scripts/test.sh` runs it); without it, `database.rs` checks the refusal.
#![cfg(feature = "postgres-tls")]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use appc_runtime::Database;

/// How long a refused connection may take to fail: far less than the pool's 10 s wait, so a
/// failure that retried until that timeout would be caught.
const FAILS_WITHIN: Duration = Duration::from_secs(5);

/// A fresh database on the test server and the folder of the server's certificates.
struct TlsServer {
    url: String,
    certificates: PathBuf,
}

async fn tls_server() -> Option<TlsServer> {
    let url = common::fresh_postgres_url().await?;
    let plain = sqlx::PgPool::connect(&format!("{url}?sslmode=disable"))
        .await
        .expect("the test server accepts plain connections");
    let ssl: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(&plain)
        .await
        .expect("SHOW ssl");
    assert_eq!(
        ssl, "on",
        "the PostgreSQL server of APPC_TEST_POSTGRES_URL must accept TLS; start it with tests/support/start-postgres.sh"
    );
    let certificate_file: String = sqlx::query_scalar("SHOW ssl_cert_file")
        .fetch_one(&plain)
        .await
        .expect("the test role is a superuser and may read ssl_cert_file");
    plain.close().await;
    let certificates = PathBuf::from(certificate_file)
        .parent()
        .expect("ssl_cert_file is a path in a folder")
        .to_owned();
    assert!(
        certificates.join("ca.crt").exists() && certificates.join("other-ca.crt").exists(),
        "tests/support/start-postgres.sh keeps ca.crt and other-ca.crt in {}",
        certificates.display()
    );
    Some(TlsServer { url, certificates })
}

/// Whether the database's own connection is encrypted, from the server's point of view.
async fn connection_is_encrypted(database: &Database) -> bool {
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(database.postgres_pool().expect("a PostgreSQL database"))
        .await
        .expect("pg_stat_ssl is readable")
}

#[tokio::test]
async fn sslmode_require_encrypts_and_runs_queries() {
    let Some(server) = tls_server().await else {
        return;
    };
    let database = Database::connect(&format!("{}?sslmode=require", server.url))
        .await
        .expect("sslmode=require connects");
    assert!(connection_is_encrypted(&database).await);
    let answer: i32 = sqlx::query_scalar("SELECT 40 + 2")
        .fetch_one(database.postgres_pool().unwrap())
        .await
        .expect("a query over TLS");
    assert_eq!(answer, 42);
    database.close().await;

    // Without sslmode (libpq's default, prefer) a server that offers TLS gets it too, and
    // sslmode=disable still connects in plain text.
    for (query, encrypted) in [("", true), ("?sslmode=disable", false)] {
        let database = Database::connect(&format!("{}{query}", server.url))
            .await
            .expect("connects");
        assert_eq!(
            connection_is_encrypted(&database).await,
            encrypted,
            "{query}"
        );
        database.close().await;
    }
}

#[tokio::test]
async fn sslmode_verify_full_with_the_right_root_certificate_connects() {
    let Some(server) = tls_server().await else {
        return;
    };
    let url = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        server.url,
        server.certificates.join("ca.crt").display()
    );
    let database = Database::connect(&url)
        .await
        .expect("the server's certificate is signed by ca.crt and names 127.0.0.1");
    assert!(connection_is_encrypted(&database).await);
    database.close().await;
}

#[tokio::test]
async fn a_wrong_root_certificate_fails_at_once_with_what_to_check() {
    let Some(server) = tls_server().await else {
        return;
    };
    let wrong_authority = server.certificates.join("other-ca.crt");
    let address = server
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(address, _)| address.to_owned())
        .expect("the test url is postgres://USER@HOST:PORT/DATABASE");
    // `require` with a root certificate verifies the server against it, as in libpq.
    for (ssl_mode, checked_as) in [("verify-full", "verify-full"), ("require", "verify-ca")] {
        let url = format!(
            "{}?sslmode={ssl_mode}&sslrootcert={}",
            server.url,
            wrong_authority.display()
        );
        let error = tokio::time::timeout(FAILS_WITHIN, Database::connect(&url))
            .await
            .expect("a refused certificate fails at once, without waiting for the pool")
            .expect_err("the server's certificate was not signed by other-ca.crt");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "could not connect to PostgreSQL at {address} with sslmode={checked_as}: "
            )),
            "{message}"
        );
        assert!(message.contains("invalid peer certificate"), "{message}");
        assert!(
            message.ends_with(
                "; the server's TLS certificate was not accepted: set sslrootcert in DATABASE_URL to the PEM file of the authority that signed it (with verify-full the certificate must also name the host of the url)"
            ),
            "{message}"
        );
    }
}
