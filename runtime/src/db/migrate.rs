//! The additive migrator, which development mode runs after the versioned migrations
//! (`versioned.rs`) for the changes no migration covers yet, and which a server built without
//! migrations runs at start-up: it compares the declared tables with the live database and applies the
//! additive changes (new tables, new nullable or defaulted columns, new indexes) in one
//! transaction. A change that would lose data (a dropped column, a retyped column, a required
//! column without default on a table with rows) is refused with a message that says what would
//! be lost, and so is a unique index over rows that already repeat its values (which rows, and
//! what to do); then nothing at all is applied.
//!
//! Indexes are found by name ([`super::schema::index_name`]): one the database lacks is created
//! with `CREATE [UNIQUE] INDEX IF NOT EXISTS`; one the spec no longer declares is left in place
//! (dropping it loses no data, and another process may still rely on it).

use chrono::Utc;

use super::database::Database;
use super::error::DbError;
use super::schema::{
    ColumnDefault, ColumnSchema, IndexSchema, SqlType, TableSchema, index_name, quote_identifier,
};
use super::sql::{Conn, Param};
use super::system::DbSystem;
use super::value::{Value, format_timestamp};

/// The key of the advisory lock that serialises start-up migrations on PostgreSQL, additive
/// and versioned alike.
pub(crate) const MIGRATION_LOCK_KEY: i64 = 7061707063;

/// What a successful migration changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Tables that were created.
    pub created_tables: Vec<String>,
    /// Columns that were added, as `Table.column`.
    pub added_columns: Vec<String>,
    /// Indexes that were created, by name.
    pub created_indexes: Vec<String>,
}

impl MigrationReport {
    /// Whether the database already matched the spec.
    pub fn is_empty(&self) -> bool {
        self.created_tables.is_empty()
            && self.added_columns.is_empty()
            && self.created_indexes.is_empty()
    }
}

/// Why the database was not migrated.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The spec asks for changes that would lose data; each entry says which and how much.
    #[error("refusing to change the database schema because data would be lost:\n{}", .problems.iter().map(|problem| format!("  - {problem}")).collect::<Vec<_>>().join("\n"))]
    Destructive {
        /// One sentence per refused change.
        problems: Vec<String>,
    },
    /// The spec declares a unique index (`@@unique([...])`) over columns whose stored rows
    /// already repeat values; each entry names the table, the columns and what to do.
    #[error("refusing to add a unique constraint that existing rows break:\n{}", .problems.iter().map(|problem| format!("  - {problem}")).collect::<Vec<_>>().join("\n"))]
    DuplicateRows {
        /// One sentence per refused index.
        problems: Vec<String>,
    },
    /// The database failed while reading or changing the schema.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The history records migrations this build does not embed.
    #[error(
        "the database is ahead of this build: it has applied {} which this server does not know; deploy the build that contains {}, or restore {} under `migrations/` and build again",
        list(names),
        if names.len() == 1 { "it" } else { "them" },
        if names.len() == 1 { "its folder" } else { "their folders" }
    )]
    Ahead {
        /// The unknown migrations, as recorded.
        names: Vec<String>,
    },
    /// Applied migrations whose embedded SQL differs from what was applied.
    #[error(
        "migration {} was changed after it was applied to this database (its checksum differs from the recorded one); restore the applied version of its SQL under `migrations/` and put further changes in a new migration (`appc db migrate`)",
        list(names)
    )]
    Diverged {
        /// The changed migrations.
        names: Vec<String>,
    },
    /// A migration's SQL failed; its transaction was rolled back.
    #[error("{}", failed_message(name, file, reason, *development))]
    Failed {
        /// The migration.
        name: String,
        /// Its file for the database in use.
        file: String,
        /// The database's error.
        reason: String,
        /// Whether the server runs in development mode (the advice differs).
        development: bool,
    },
    /// Production: after the migrations, the schema still differs from the declared entities.
    #[error(
        "the database schema differs from the entities of this build, and a production server changes the schema only through migrations:\n{}\nrun `appc db migrate` to write a migration for these changes, then build and deploy again",
        bullets(differences)
    )]
    Undeclared {
        /// One sentence per difference.
        differences: Vec<String>,
    },
    /// `migrate reset` in production mode, which would drop every table of a production
    /// database.
    #[error(
        "refusing to reset the database: this server runs in production mode (a release build, or APPC_ENV=production), and a reset drops every table; reset only development databases (`appc db reset` builds a debug server; unset APPC_ENV=production)"
    )]
    ResetInProduction,
    /// Production: a database with tables but no migration history, whose schema is not the
    /// first migration's.
    #[error(
        "the database has tables but no migration history, and its schema is not the one migration `{name}` creates:\n{}\nbring the database to that schema by hand, or start this build on an empty database",
        bullets(differences)
    )]
    NotBaselined {
        /// The first migration.
        name: String,
        /// How the database differs from its schema.
        differences: Vec<String>,
    },
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bullets(lines: &[String]) -> String {
    lines
        .iter()
        .map(|line| format!("  - {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn failed_message(name: &str, file: &str, reason: &str, development: bool) -> String {
    let advice = if development {
        "; nothing of it was applied. If `appc dev` already made part of this change without a migration, the development database no longer matches the migrations before it: start it over with `appc db reset` (which drops its tables and data, then applies every migration) or undo that part by hand, then run `appc db migrate` again"
    } else {
        "; nothing of it was applied. Fix the SQL (or the data it stumbles on) and start the server again"
    };
    format!("migration `{name}` failed: {reason} (in `{file}`){advice}")
}

/// One column as the live database reports it.
struct LiveColumn {
    name: String,
    type_name: String,
}

enum Step {
    CreateTable {
        table: String,
        sql: String,
    },
    AddColumn {
        table: String,
        column: String,
        statements: Vec<String>,
    },
    CreateIndex {
        name: String,
        sql: String,
    },
}

/// What planning found wrong: changes that would lose data, and unique indexes that stored
/// rows already break.
#[derive(Default)]
struct Problems {
    data_loss: Vec<String>,
    duplicates: Vec<String>,
}

/// Brings the database up to the declared tables, additively. Tables are processed in the given
/// order, so list referenced tables first.
///
/// ```no_run
/// # async fn example(database: appc_runtime::Database, user: appc_runtime::codegen::TableSchema) -> Result<(), appc_runtime::codegen::MigrationError> {
/// let report = appc_runtime::codegen::migrate(&database, &[&user]).await?;
/// println!("created {:?}, added {:?}", report.created_tables, report.added_columns);
/// # Ok(()) }
/// ```
pub async fn migrate(
    database: &Database,
    tables: &[&TableSchema],
) -> Result<MigrationReport, MigrationError> {
    let mut transaction = database.begin_transaction(true).await?;
    let system = database.system();
    let mut steps = Vec::new();
    let mut problems = Problems::default();
    if system == DbSystem::Postgres {
        // Several server processes may start at once against one PostgreSQL database; the lock
        // (held until the transaction ends) makes them migrate one after the other, so the
        // later ones find the work done. On SQLite, `BEGIN IMMEDIATE` does the same.
        transaction
            .conn()
            .execute(
                &format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"),
                Vec::new(),
            )
            .await?;
    }
    {
        let mut conn = transaction.conn();
        for table in tables {
            plan_table(&mut conn, system, table, &mut steps, &mut problems).await?;
        }
    }
    if !problems.data_loss.is_empty() {
        transaction.rollback().await?;
        return Err(MigrationError::Destructive {
            problems: problems.data_loss,
        });
    }
    if !problems.duplicates.is_empty() {
        transaction.rollback().await?;
        return Err(MigrationError::DuplicateRows {
            problems: problems.duplicates,
        });
    }
    let mut report = MigrationReport::default();
    {
        let mut conn = transaction.conn();
        for step in steps {
            match step {
                Step::CreateTable { table, sql } => {
                    conn.execute(&sql, Vec::new()).await?;
                    report.created_tables.push(table);
                }
                Step::AddColumn {
                    table,
                    column,
                    statements,
                } => {
                    for sql in statements {
                        conn.execute(&sql, Vec::new()).await?;
                    }
                    report.added_columns.push(format!("{table}.{column}"));
                }
                Step::CreateIndex { name, sql } => {
                    conn.execute(&sql, Vec::new()).await?;
                    report.created_indexes.push(name);
                }
            }
        }
    }
    transaction.commit().await?;
    Ok(report)
}

async fn plan_table(
    conn: &mut Conn<'_>,
    system: DbSystem,
    table: &TableSchema,
    steps: &mut Vec<Step>,
    problems: &mut Problems,
) -> Result<(), DbError> {
    let live_columns = live_columns(conn, system, &table.name).await?;
    if live_columns.is_empty() {
        steps.push(Step::CreateTable {
            table: table.name.clone(),
            sql: create_table_sql(system, table),
        });
        steps.extend(table.indexes.iter().map(create_index_step));
        return Ok(());
    }
    let row_count = conn
        .fetch_integer(
            &format!("SELECT COUNT(*) FROM {}", quote_identifier(&table.name)),
            Vec::new(),
        )
        .await?;
    for column in &table.columns {
        match live_columns.iter().find(|live| live.name == column.name) {
            None if column.can_be_added_to_existing_rows() || row_count == 0 => {
                steps.push(Step::AddColumn {
                    table: table.name.clone(),
                    column: column.name.clone(),
                    statements: add_column_sql(system, table, column),
                });
            }
            None => problems.data_loss.push(format!(
                "column `{}.{}` is new and required without a default, so the {row_count} existing rows would have no value; make the field optional (`?`) or give it a @default",
                table.name, column.name
            )),
            Some(live) => {
                let live_type = SqlType::from_live_name(system, &live.type_name);
                if live_type != Some(column.sql_type) {
                    let values = non_null_count(conn, table, &column.name).await?;
                    problems.data_loss.push(format!(
                        "column `{}.{}` is `{}` in the database but the spec declares `{}`; retyping it could lose or change its {values} stored values. Keep the old type, or add a new field and copy the data over",
                        table.name,
                        column.name,
                        live.type_name,
                        column.sql_type.sql_name(system)
                    ));
                }
            }
        }
    }
    for live in &live_columns {
        if table.find_column(&live.name).is_none() {
            let values = non_null_count(conn, table, &live.name).await?;
            problems.data_loss.push(format!(
                "column `{}.{}` exists in the database but not in the spec; dropping it would lose its {values} stored values. Put the field back, or drop the column yourself after saving the data",
                table.name, live.name
            ));
        }
    }
    let live_indexes = live_index_names(conn, system, &table.name).await?;
    for index in &table.indexes {
        if live_indexes.contains(&index.name) {
            continue;
        }
        if index.unique && row_count > 0 {
            let groups = duplicate_groups(conn, index).await?;
            if groups > 0 {
                let columns = index
                    .columns
                    .iter()
                    .map(|column| format!("`{column}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let list = index.columns.join(", ");
                problems.duplicates.push(format!(
                    "table `{}` has {groups} sets of rows with equal ({columns}), which `@@unique([{list}])` forbids; change or delete the duplicate rows (`SELECT {list}, COUNT(*) FROM \"{}\" GROUP BY {list} HAVING COUNT(*) > 1` lists them) or remove the `@@unique`",
                    table.name, table.name
                ));
                continue;
            }
        }
        steps.push(create_index_step(index));
    }
    Ok(())
}

/// How many sets of rows share the same values in every column of `index`; rows with a NULL in
/// one of the columns are left out, as the database's unique indexes leave them out.
async fn duplicate_groups(conn: &mut Conn<'_>, index: &IndexSchema) -> Result<i64, DbError> {
    let columns: Vec<String> = index
        .columns
        .iter()
        .map(|column| quote_identifier(column))
        .collect();
    let not_null: Vec<String> = columns
        .iter()
        .map(|column| format!("{column} IS NOT NULL"))
        .collect();
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE {} GROUP BY {} HAVING COUNT(*) > 1) AS duplicates",
        quote_identifier(&index.table),
        not_null.join(" AND "),
        columns.join(", ")
    );
    conn.fetch_integer(&sql, Vec::new()).await
}

/// The names of the indexes the live database has on `table`.
async fn live_index_names(
    conn: &mut Conn<'_>,
    system: DbSystem,
    table: &str,
) -> Result<Vec<String>, DbError> {
    let sql = match system {
        DbSystem::Sqlite => "SELECT name FROM pragma_index_list(?)",
        DbSystem::Postgres => {
            "SELECT indexname::text FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = $1"
        }
    };
    let params = vec![Param {
        value: Value::Text(table.to_owned()),
        sql_type: SqlType::Text,
    }];
    let rows = conn.fetch_text_rows(sql, params).await?;
    Ok(rows
        .into_iter()
        .filter_map(|mut row| row.pop().flatten())
        .collect())
}

fn create_index_step(index: &IndexSchema) -> Step {
    let columns: Vec<String> = index
        .columns
        .iter()
        .map(|column| quote_identifier(column))
        .collect();
    Step::CreateIndex {
        name: index.name.clone(),
        sql: format!(
            "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
            if index.unique { "UNIQUE " } else { "" },
            quote_identifier(&index.name),
            quote_identifier(&index.table),
            columns.join(", ")
        ),
    }
}

async fn non_null_count(
    conn: &mut Conn<'_>,
    table: &TableSchema,
    column: &str,
) -> Result<i64, DbError> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {} IS NOT NULL",
        quote_identifier(&table.name),
        quote_identifier(column)
    );
    conn.fetch_integer(&sql, Vec::new()).await
}

async fn live_columns(
    conn: &mut Conn<'_>,
    system: DbSystem,
    table: &str,
) -> Result<Vec<LiveColumn>, DbError> {
    let sql = match system {
        DbSystem::Sqlite => "SELECT name, type FROM pragma_table_info(?)",
        DbSystem::Postgres => {
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let params = vec![Param {
        value: Value::Text(table.to_owned()),
        sql_type: SqlType::Text,
    }];
    let rows = conn.fetch_text_rows(sql, params).await?;
    Ok(rows
        .into_iter()
        .map(|mut row| LiveColumn {
            type_name: row.pop().flatten().unwrap_or_default(),
            name: row.pop().flatten().unwrap_or_default(),
        })
        .collect())
}

/// A SQL literal for a constant default. Only values from the declared schema reach here, and
/// text is quoted with doubled single quotes.
fn literal(system: DbSystem, value: &Value) -> String {
    fn quoted(text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Bool(flag) => match system {
            DbSystem::Sqlite => if *flag { "1" } else { "0" }.to_owned(),
            DbSystem::Postgres => if *flag { "TRUE" } else { "FALSE" }.to_owned(),
        },
        Value::Int(number) => number.to_string(),
        Value::Float(number) => format!("{number:?}"),
        Value::Text(text) => quoted(text),
        Value::DateTime(timestamp) => quoted(&format_timestamp(timestamp)),
        Value::Json(document) => quoted(&document.to_string()),
        Value::Bytes(bytes) => {
            let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            match system {
                DbSystem::Sqlite => format!("X'{hex}'"),
                DbSystem::Postgres => format!("'\\x{hex}'::bytea"),
            }
        }
    }
}

/// How a column definition is used: in `CREATE TABLE`, or in `ALTER TABLE ... ADD COLUMN`,
/// where SQLite allows neither a unique constraint nor a default that is an expression.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DefinitionFor {
    CreateTable,
    AddColumn,
}

fn column_definition(system: DbSystem, column: &ColumnSchema, used_for: DefinitionFor) -> String {
    let inline_unique = used_for == DefinitionFor::CreateTable;
    let name = quote_identifier(&column.name);
    if column.default == Some(ColumnDefault::Autoincrement) {
        return match system {
            DbSystem::Sqlite => format!("{name} INTEGER PRIMARY KEY AUTOINCREMENT"),
            DbSystem::Postgres => {
                format!("{name} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
            }
        };
    }
    let mut definition = format!("{name} {}", column.sql_type.sql_name(system));
    if column.primary_key {
        definition.push_str(" PRIMARY KEY");
    }
    if !column.nullable {
        definition.push_str(" NOT NULL");
    }
    if column.unique && !column.primary_key && inline_unique {
        definition.push_str(" UNIQUE");
    }
    match &column.default {
        Some(ColumnDefault::Value(value)) => {
            definition.push_str(&format!(" DEFAULT {}", literal(system, value)));
        }
        // The database's own current time, so a row inserted without the column (raw SQL, or
        // an existing row when the column is added) gets its insert time; the runtime sets it
        // itself on its own inserts.
        Some(ColumnDefault::Now) => match (system, used_for) {
            // SQLite adds a column only with a constant default: the existing rows get this
            // moment, and the column keeps it as its default until a migration rebuilds the
            // table (`appc db migrate` writes one).
            (DbSystem::Sqlite, DefinitionFor::AddColumn) => definition.push_str(&format!(
                " DEFAULT {}",
                literal(system, &Value::DateTime(Utc::now()))
            )),
            (DbSystem::Sqlite, DefinitionFor::CreateTable) => {
                definition.push_str(" DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))")
            }
            (DbSystem::Postgres, _) => definition.push_str(" DEFAULT now()"),
        },
        _ => {}
    }
    if let Some(foreign_key) = &column.foreign_key {
        // Written as the migration planner writes it (appc-core's `migrations/sql.rs`), so a
        // development database made here has the constraints the migration files create.
        definition.push_str(&format!(
            " REFERENCES {}({})",
            quote_identifier(&foreign_key.table),
            quote_identifier(&foreign_key.column)
        ));
        if let Some(action) = foreign_key.on_delete {
            definition.push_str(&format!(" ON DELETE {}", action.sql()));
        }
        if let Some(action) = foreign_key.on_update {
            definition.push_str(&format!(" ON UPDATE {}", action.sql()));
        }
    }
    definition
}

fn create_table_sql(system: DbSystem, table: &TableSchema) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|column| column_definition(system, column, DefinitionFor::CreateTable))
        .collect();
    format!(
        "CREATE TABLE {} (\n  {}\n)",
        quote_identifier(&table.name),
        columns.join(",\n  ")
    )
}

fn add_column_sql(system: DbSystem, table: &TableSchema, column: &ColumnSchema) -> Vec<String> {
    // SQLite cannot add a UNIQUE column directly, so uniqueness becomes an index on both systems.
    let mut statements = vec![format!(
        "ALTER TABLE {} ADD COLUMN {}",
        quote_identifier(&table.name),
        column_definition(system, column, DefinitionFor::AddColumn)
    )];
    if column.unique {
        statements.push(format!(
            "CREATE UNIQUE INDEX {} ON {} ({})",
            quote_identifier(&index_name(&table.name, &[column.name.as_str()], true)),
            quote_identifier(&table.name),
            quote_identifier(&column.name)
        ));
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_migration_in_development_points_at_appc_db_reset() {
        let development = failed_message(
            "20260101000000_add_room",
            "migrations/20260101000000_add_room/sqlite.sql",
            "duplicate column name: room",
            true,
        );
        assert!(
            development.starts_with("migration `20260101000000_add_room` failed: duplicate column name: room (in `migrations/20260101000000_add_room/sqlite.sql`); nothing of it was applied."),
            "{development}"
        );
        assert!(
            development.contains("start it over with `appc db reset`"),
            "{development}"
        );
        let production = failed_message("m", "f", "r", false);
        assert!(!production.contains("appc db reset"), "{production}");
    }
}
