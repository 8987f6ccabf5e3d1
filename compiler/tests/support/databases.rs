//! The databases of the end-to-end database tests (`db_migrate.rs`, `db_reset.rs`): a fresh
//! PostgreSQL database per use on the `APPC_TEST_POSTGRES_URL` server (or a notice that the
//! PostgreSQL half is skipped), SQL run on SQLite or PostgreSQL by URL, and a command's output
//! as one text.

#![allow(
    dead_code,
    reason = "each test binary that includes these helpers uses a different part of them"
)]

use std::process::Output;

/// A command's stdout and stderr, one after the other.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The databases of a test: a SQLite file, and PostgreSQL when available.
pub struct Databases {
    pub sqlite_url: String,
    pub postgres_url: Option<String>,
    pub runtime: tokio::runtime::Runtime,
}

impl Databases {
    pub fn urls(&self) -> Vec<String> {
        std::iter::once(self.sqlite_url.clone())
            .chain(self.postgres_url.clone())
            .collect()
    }

    /// Runs `sql` (one or more statements) on the database at `url`.
    pub fn execute(&self, url: &str, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        self.runtime.block_on(async {
            if url.starts_with("sqlite:") {
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                pool.close().await;
            } else {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        });
    }

    /// The first column of every row of `sql`, as text.
    pub fn column(&self, url: &str, sql: &str) -> Vec<Option<String>> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        self.runtime.block_on(async {
            if url.starts_with("sqlite:") {
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                let rows: Vec<(Option<String>,)> =
                    sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows.into_iter().map(|(value,)| value).collect()
            } else {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let rows: Vec<(Option<String>,)> =
                    sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows.into_iter().map(|(value,)| value).collect()
            }
        })
    }
}

/// A fresh database named `<label>_<process id>` on the `APPC_TEST_POSTGRES_URL` server, or
/// `None` with a notice when the variable is unset.
pub fn fresh_postgres_url(runtime: &tokio::runtime::Runtime, label: &str) -> Option<String> {
    let Some(admin_url) = std::env::var("APPC_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        eprintln!(
            "\n*** skipped: PostgreSQL half of this test; set APPC_TEST_POSTGRES_URL (tests/support/start-postgres.sh prints one) ***\n"
        );
        return None;
    };
    let name = format!("{label}_{}", std::process::id());
    runtime.block_on(async {
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
        // One statement each: PostgreSQL runs several in one transaction, which these refuse.
        for statement in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&admin)
                .await
                .unwrap();
        }
        admin.close().await;
    });
    let without_query = admin_url.split('?').next().unwrap_or_default();
    let (base, _) = without_query.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}
