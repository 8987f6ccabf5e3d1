//! Writes a [`Diff`] as a SQL file for SQLite or PostgreSQL.
//!
//! Column definitions follow the runtime's start-up migrator (`runtime/src/db/migrate.rs`) word
//! for word, so that a table created by a migration and one created at start-up are the same
//! table; the one difference is `@default(now())`, which is the database's own current time here
//! instead of the moment of the migration.

use super::diff::{Diff, TableDiff, column_changes, is_widening, sql_default};
use super::snapshot::{
    Action, ColumnDefault, ColumnSnapshot, ColumnType, Constant, IndexSnapshot, TableSnapshot,
};

/// The database systems a migration is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum System {
    Sqlite,
    Postgres,
}

/// SQLite's current time in the text form the runtime writes (RFC 3339, UTC, microseconds,
/// `Z`): `%f` gives milliseconds, and three zeros make them microseconds, so that text order
/// stays time order next to the runtime's own timestamps.
pub(super) const SQLITE_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')";

/// The whole file for `system`.
pub(super) fn render(diff: &Diff, system: System, allow_destructive: bool) -> String {
    let system_name = match system {
        System::Sqlite => "SQLite",
        System::Postgres => "PostgreSQL",
    };
    if diff.changes.is_empty() {
        return format!("-- appc migration for {system_name}: no changes.\n");
    }
    let mut file = SqlFile::default();
    let rebuilds: Vec<&str> = diff
        .altered
        .iter()
        .filter(|table| system == System::Sqlite && table.needs_sqlite_rebuild())
        .map(|table| table.name.as_str())
        .collect();
    if !rebuilds.is_empty() {
        // The copies are checked when the transaction commits, not row by row.
        file.push("PRAGMA defer_foreign_keys = ON;".to_owned());
    }
    for rename in &diff.table_renames {
        file.push(format!(
            "ALTER TABLE {} RENAME TO {};",
            quote(&rename.from),
            quote(&rename.to)
        ));
        if system == System::Postgres {
            rename_postgres_constraints(&mut file, &rename.from, &rename.to, &rename.previous);
        }
    }
    let created_names: Vec<&str> = diff.created.iter().map(|(name, _)| name.as_str()).collect();
    let mut deferred_foreign_keys = Vec::new();
    for (position, (name, table)) in diff.created.iter().enumerate() {
        // PostgreSQL checks a reference when the table is created, so a foreign key to a table
        // created later (a cycle) is added once every table exists.
        let later = &created_names[position + 1..];
        file.push(create_table(system, name, table, |column| {
            let inline = match (&column.foreign_key, system) {
                (Some(key), System::Postgres) => !later.contains(&key.table.as_str()),
                _ => true,
            };
            if !inline {
                deferred_foreign_keys.push(add_foreign_key(name, column));
            }
            inline
        }));
        for (index_name, index) in &table.indexes {
            file.push(create_index(name, index_name, index));
        }
    }
    for statement in deferred_foreign_keys {
        file.push(statement);
    }
    for table in &diff.altered {
        match system {
            System::Sqlite if table.needs_sqlite_rebuild() => {
                rebuild_sqlite_table(&mut file, table)
            }
            System::Sqlite => alter_sqlite_table(&mut file, table),
            System::Postgres => alter_postgres_table(&mut file, table),
        }
    }
    for (name, _) in &diff.dropped {
        let note = diff
            .destructive
            .iter()
            .find(|note| note.starts_with(&format!("table `{name}` ")))
            .cloned()
            .unwrap_or_else(|| format!("table `{name}` is dropped with all its rows"));
        file.push_destructive(&note, format!("DROP TABLE {};", quote(name)));
    }
    let mut text = format!("-- appc migration for {system_name}.\n--\n-- Changes:\n");
    for change in &diff.changes {
        text.push_str(&format!("--   - {change}\n"));
    }
    if !diff.destructive.is_empty() {
        text.push_str(&format!(
            "--\n-- Destructive changes ({}):\n",
            if allow_destructive {
                "allowed with --allow-destructive"
            } else {
                "need --allow-destructive"
            }
        ));
        for note in &diff.destructive {
            text.push_str(&format!("--   - {note}\n"));
        }
    }
    text.push_str("--\n-- appc runs this file in one transaction; add data steps where they belong before it is applied.\n");
    if !rebuilds.is_empty() {
        text.push_str(&format!(
            "-- SQLite cannot alter these tables in place, so they are rebuilt: {}.\n\
             -- Run it with foreign keys off (`PRAGMA foreign_keys = OFF` before the transaction, as appc does),\n\
             -- or dropping a rebuilt table would cascade to, or fail on, the rows that point at it.\n",
            rebuilds
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for statement in file.statements {
        text.push('\n');
        text.push_str(&statement);
        text.push('\n');
    }
    text
}

/// The statements of a file, each with the comments that go above it.
#[derive(Default)]
struct SqlFile {
    statements: Vec<String>,
}

impl SqlFile {
    fn push(&mut self, statement: String) {
        self.statements.push(statement);
    }

    fn push_destructive(&mut self, note: &str, statement: String) {
        self.statements
            .push(format!("-- destructive: {note}\n{statement}"));
    }
}

/// Quotes an identifier the way the runtime does (double quotes, embedded quotes doubled).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(system: System, constant: &Constant) -> String {
    match constant {
        Constant::Text(text) => format!("'{}'", text.replace('\'', "''")),
        Constant::Integer(number) => number.to_string(),
        Constant::Float(number) => format!("{number:?}"),
        Constant::Boolean(flag) => match (system, flag) {
            (System::Sqlite, true) => "1".to_owned(),
            (System::Sqlite, false) => "0".to_owned(),
            (System::Postgres, true) => "TRUE".to_owned(),
            (System::Postgres, false) => "FALSE".to_owned(),
        },
    }
}

/// The SQL value a default puts in a row, for `DEFAULT` clauses and for filling NULLs.
fn default_expression(system: System, default: &ColumnDefault) -> Option<String> {
    match default {
        ColumnDefault::Constant(constant) => Some(literal(system, constant)),
        ColumnDefault::Now => Some(match system {
            System::Sqlite => format!("({SQLITE_NOW})"),
            System::Postgres => "now()".to_owned(),
        }),
        ColumnDefault::Autoincrement | ColumnDefault::Uuid => None,
    }
}

fn type_name(system: System, column_type: ColumnType) -> &'static str {
    match (system, column_type) {
        (System::Sqlite, ColumnType::Integer) => "INTEGER",
        (System::Sqlite, ColumnType::Float) => "REAL",
        (System::Sqlite, ColumnType::Boolean) => "BOOLEAN",
        (System::Sqlite, ColumnType::Text) => "TEXT",
        (System::Sqlite, ColumnType::DateTime) => "DATETIME",
        (System::Sqlite, ColumnType::Json) => "JSON TEXT",
        (System::Sqlite, ColumnType::Bytes) => "BLOB",
        (System::Postgres, ColumnType::Integer) => "BIGINT",
        (System::Postgres, ColumnType::Float) => "DOUBLE PRECISION",
        (System::Postgres, ColumnType::Boolean) => "BOOLEAN",
        (System::Postgres, ColumnType::Text) => "TEXT",
        (System::Postgres, ColumnType::DateTime) => "TIMESTAMPTZ",
        (System::Postgres, ColumnType::Json) => "JSONB",
        (System::Postgres, ColumnType::Bytes) => "BYTEA",
    }
}

fn action_words(action: Action) -> &'static str {
    match action {
        Action::Cascade => "CASCADE",
        Action::Restrict => "RESTRICT",
        Action::NoAction => "NO ACTION",
        Action::SetNull => "SET NULL",
        Action::SetDefault => "SET DEFAULT",
    }
}

fn references(column: &ColumnSnapshot) -> String {
    let Some(key) = &column.foreign_key else {
        return String::new();
    };
    let mut clause = format!(" REFERENCES {}({})", quote(&key.table), quote(&key.column));
    if let Some(action) = key.on_delete {
        clause.push_str(&format!(" ON DELETE {}", action_words(action)));
    }
    if let Some(action) = key.on_update {
        clause.push_str(&format!(" ON UPDATE {}", action_words(action)));
    }
    clause
}

/// A column as `CREATE TABLE` and `ADD COLUMN` declare it (the runtime's words).
fn column_definition(system: System, column: &ColumnSnapshot, with_foreign_key: bool) -> String {
    let name = quote(&column.name);
    if column.default == Some(ColumnDefault::Autoincrement) {
        return match system {
            System::Sqlite => format!("{name} INTEGER PRIMARY KEY AUTOINCREMENT"),
            System::Postgres => {
                format!("{name} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
            }
        };
    }
    let mut definition = format!("{name} {}", type_name(system, column.column_type));
    if column.primary_key {
        definition.push_str(" PRIMARY KEY");
    }
    if !column.nullable {
        definition.push_str(" NOT NULL");
    }
    if column.unique && !column.primary_key {
        definition.push_str(" UNIQUE");
    }
    if let Some(expression) = column
        .default
        .as_ref()
        .and_then(|default| default_expression(system, default))
    {
        definition.push_str(&format!(" DEFAULT {expression}"));
    }
    if with_foreign_key {
        definition.push_str(&references(column));
    }
    definition
}

fn create_table(
    system: System,
    name: &str,
    table: &TableSnapshot,
    mut inline_foreign_key: impl FnMut(&ColumnSnapshot) -> bool,
) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|column| {
            let with_key = inline_foreign_key(column);
            column_definition(system, column, with_key)
        })
        .collect();
    format!(
        "CREATE TABLE {} (\n  {}\n);",
        quote(name),
        columns.join(",\n  ")
    )
}

fn create_index(table: &str, name: &str, index: &IndexSnapshot) -> String {
    let columns: Vec<String> = index.columns.iter().map(|column| quote(column)).collect();
    format!(
        "CREATE {}INDEX {} ON {} ({});",
        if index.unique { "UNIQUE " } else { "" },
        quote(name),
        quote(table),
        columns.join(", ")
    )
}

fn add_foreign_key(table: &str, column: &ColumnSnapshot) -> String {
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}){};",
        quote(table),
        quote(&postgres_constraint_name(table, Some(&column.name), "fkey")),
        quote(&column.name),
        references(column)
    )
}

/// The name PostgreSQL gives a constraint declared without one (its `makeObjectName`):
/// `table_column_label`, the longer of table and column shortened until it fits in 63 bytes.
pub(super) fn postgres_constraint_name(table: &str, column: Option<&str>, label: &str) -> String {
    const MAX_BYTES: usize = 63;
    let overhead = label.len() + 1 + usize::from(column.is_some());
    let available = MAX_BYTES - overhead;
    let mut table_bytes = table.len();
    let mut column_bytes = column.map_or(0, str::len);
    while table_bytes + column_bytes > available {
        if table_bytes > column_bytes {
            table_bytes -= 1;
        } else {
            column_bytes -= 1;
        }
    }
    let clip = |name: &str, mut bytes: usize| {
        while !name.is_char_boundary(bytes) {
            bytes -= 1;
        }
        name[..bytes].to_owned()
    };
    match column {
        Some(column) => format!(
            "{}_{}_{label}",
            clip(table, table_bytes),
            clip(column, column_bytes)
        ),
        None => format!("{}_{label}", clip(table, table_bytes)),
    }
}

/// A renamed table keeps its constraints' old names on PostgreSQL; they are renamed too, so
/// that later migrations find them under the names the new table gives them.
fn rename_postgres_constraints(file: &mut SqlFile, from: &str, to: &str, table: &TableSnapshot) {
    if table
        .columns
        .iter()
        .any(|column| column.primary_key || column.default == Some(ColumnDefault::Autoincrement))
    {
        file.push(format!(
            "ALTER INDEX IF EXISTS {} RENAME TO {};",
            quote(&postgres_constraint_name(from, None, "pkey")),
            quote(&postgres_constraint_name(to, None, "pkey"))
        ));
    }
    for column in &table.columns {
        if column.unique && !column.primary_key {
            file.push(format!(
                "ALTER INDEX IF EXISTS {} RENAME TO {};",
                quote(&postgres_constraint_name(from, Some(&column.name), "key")),
                quote(&postgres_constraint_name(to, Some(&column.name), "key"))
            ));
        }
        if column.foreign_key.is_some() {
            file.push(format!(
                "ALTER TABLE {} RENAME CONSTRAINT {} TO {};",
                quote(to),
                quote(&postgres_constraint_name(from, Some(&column.name), "fkey")),
                quote(&postgres_constraint_name(to, Some(&column.name), "fkey"))
            ));
        }
    }
}

fn destructive_notes<'a>(table: &'a TableDiff, kind: &str, column: &str) -> Option<&'a String> {
    table.destructive_columns.get(&format!("{kind} {column}"))
}

fn alter_sqlite_table(file: &mut SqlFile, table: &TableDiff) {
    let name = quote(&table.name);
    for (index_name, _) in &table.dropped_indexes {
        file.push(format!("DROP INDEX {};", quote(index_name)));
    }
    for (from, to) in &table.column_renames {
        file.push(format!(
            "ALTER TABLE {name} RENAME COLUMN {} TO {};",
            quote(from),
            quote(to)
        ));
    }
    for column in &table.added {
        file.push(format!(
            "ALTER TABLE {name} ADD COLUMN {};",
            column_definition(System::Sqlite, column, true)
        ));
    }
    for (index_name, index) in &table.created_indexes {
        file.push(create_index(&table.name, index_name, index));
    }
}

/// SQLite's documented way to change a table it cannot alter: a new table with the new
/// columns, the rows copied over (renamed columns from their old names, NULLs of a column that
/// becomes required replaced by its default), the old table dropped and the new one renamed,
/// and every index created again.
fn rebuild_sqlite_table(file: &mut SqlFile, table: &TableDiff) {
    let name = &table.name;
    let new_name = format!("new_{name}");
    let mut target_columns = Vec::new();
    let mut source_expressions = Vec::new();
    for column in &table.new.columns {
        let Some(old_name) = table.old_column_name(&column.name) else {
            continue;
        };
        let previous = table
            .changed
            .iter()
            .find(|(_, new)| new.name == column.name)
            .map(|(old, _)| old);
        let source = quote(old_name);
        let expression = match previous {
            Some(old) => copy_expression(&source, old, column),
            None => source,
        };
        target_columns.push(quote(&column.name));
        source_expressions.push(expression);
    }
    let notes: Vec<&String> = table.destructive_columns.values().collect();
    let create = create_table(System::Sqlite, &new_name, &table.new, |_| true);
    if notes.is_empty() {
        file.push(create);
    } else {
        let joined = notes
            .iter()
            .map(|note| note.as_str())
            .collect::<Vec<_>>()
            .join("\n-- destructive: ");
        file.push_destructive(&joined, create);
    }
    file.push(format!(
        "INSERT INTO {} ({}) SELECT {} FROM {};",
        quote(&new_name),
        target_columns.join(", "),
        source_expressions.join(", "),
        quote(name)
    ));
    file.push(format!("DROP TABLE {};", quote(name)));
    file.push(format!(
        "ALTER TABLE {} RENAME TO {};",
        quote(&new_name),
        quote(name)
    ));
    for (index_name, index) in &table.new.indexes {
        file.push(create_index(name, index_name, index));
    }
}

/// How a rebuild copies a changed column: NULLs become the default when the column becomes
/// required with one, and a narrowing type change converts explicitly (SQLite would otherwise
/// keep text that does not convert as text in a number column).
fn copy_expression(source: &str, old: &ColumnSnapshot, new: &ColumnSnapshot) -> String {
    let mut expression = source.to_owned();
    if old.column_type != new.column_type && !is_widening(old.column_type, new.column_type) {
        let cast = match new.column_type {
            ColumnType::Integer | ColumnType::Boolean => Some("INTEGER"),
            ColumnType::Float => Some("REAL"),
            ColumnType::Text => Some("TEXT"),
            ColumnType::Bytes => Some("BLOB"),
            ColumnType::DateTime | ColumnType::Json => None,
        };
        if let Some(cast) = cast {
            expression = format!("CAST({expression} AS {cast})");
        }
    }
    if old.nullable
        && !new.nullable
        && let Some(default) =
            sql_default(new).and_then(|default| default_expression(System::Sqlite, default))
    {
        expression = format!("COALESCE({expression}, {default})");
    }
    expression
}

fn postgres_using(source: &str, old: ColumnType, new: ColumnType) -> String {
    use ColumnType::*;
    match (old, new) {
        (Boolean, Integer) => format!("CASE WHEN {source} THEN 1 ELSE 0 END"),
        (Integer, Boolean) => format!("{source} <> 0"),
        // The runtime's own text form of a timestamp.
        (DateTime, Text) => {
            format!("to_char({source} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        }
        (Bytes, Text) => format!("convert_from({source}, 'UTF8')"),
        (Text, Bytes) => format!("convert_to({source}, 'UTF8')"),
        _ => format!("{source}::{}", type_name(System::Postgres, new)),
    }
}

fn alter_postgres_table(file: &mut SqlFile, table: &TableDiff) {
    let name = quote(&table.name);
    let table_name = table.name.as_str();
    for (index_name, _) in &table.dropped_indexes {
        file.push(format!("DROP INDEX {};", quote(index_name)));
    }
    for (from, to) in &table.column_renames {
        file.push(format!(
            "ALTER TABLE {name} RENAME COLUMN {} TO {};",
            quote(from),
            quote(to)
        ));
        // The column's constraints keep their names otherwise; later migrations look them up
        // under the new column name.
        let renamed = table
            .old
            .column(to)
            .expect("a renamed column exists under its new name");
        if renamed.unique && !renamed.primary_key {
            file.push(format!(
                "ALTER INDEX IF EXISTS {} RENAME TO {};",
                quote(&postgres_constraint_name(table_name, Some(from), "key")),
                quote(&postgres_constraint_name(table_name, Some(to), "key"))
            ));
        }
        if renamed.foreign_key.is_some() {
            file.push(format!(
                "ALTER TABLE {name} RENAME CONSTRAINT {} TO {};",
                quote(&postgres_constraint_name(table_name, Some(from), "fkey")),
                quote(&postgres_constraint_name(table_name, Some(to), "fkey"))
            ));
        }
    }
    // Constraints that change go first, so that columns can be retyped and dropped.
    for (old, new) in &table.changed {
        let changes = column_changes(old, new);
        if changes.foreign_key && old.foreign_key.is_some() {
            file.push(format!(
                "ALTER TABLE {name} DROP CONSTRAINT IF EXISTS {};",
                quote(&postgres_constraint_name(
                    table_name,
                    Some(&old.name),
                    "fkey"
                ))
            ));
        }
        if changes.unique && old.unique {
            // A unique column is a constraint when its table was created with it, and a unique
            // index when the start-up migrator added the column later: drop whichever it is.
            let key = quote(&postgres_constraint_name(
                table_name,
                Some(&old.name),
                "key",
            ));
            file.push(format!(
                "ALTER TABLE {name} DROP CONSTRAINT IF EXISTS {key};"
            ));
            file.push(format!("DROP INDEX IF EXISTS {key};"));
        }
        if changes.primary_key && old.primary_key {
            file.push(format!(
                "ALTER TABLE {name} DROP CONSTRAINT IF EXISTS {};",
                quote(&postgres_constraint_name(table_name, None, "pkey"))
            ));
        }
    }
    for column in &table.dropped {
        let note = destructive_notes(table, "drop", &column.name)
            .cloned()
            .unwrap_or_default();
        file.push_destructive(
            &note,
            format!("ALTER TABLE {name} DROP COLUMN {};", quote(&column.name)),
        );
    }
    for column in &table.added {
        let statement = format!(
            "ALTER TABLE {name} ADD COLUMN {};",
            column_definition(System::Postgres, column, true)
        );
        match destructive_notes(table, "add", &column.name) {
            Some(note) => file.push_destructive(note, statement),
            None => file.push(statement),
        }
    }
    for (old, new) in &table.changed {
        let changes = column_changes(old, new);
        let column = quote(&new.name);
        if changes.column_type {
            let statement = format!(
                "ALTER TABLE {name} ALTER COLUMN {column} TYPE {} USING {};",
                type_name(System::Postgres, new.column_type),
                postgres_using(&column, old.column_type, new.column_type)
            );
            match destructive_notes(table, "type", &new.name) {
                Some(note) => file.push_destructive(note, statement),
                None => file.push(statement),
            }
        }
        if changes.sql_default {
            let was_identity = old.default == Some(ColumnDefault::Autoincrement);
            let is_identity = new.default == Some(ColumnDefault::Autoincrement);
            if was_identity && !is_identity {
                file.push(format!(
                    "ALTER TABLE {name} ALTER COLUMN {column} DROP IDENTITY IF EXISTS;"
                ));
            }
            match sql_default(new) {
                Some(ColumnDefault::Autoincrement) => file.push(format!(
                    "ALTER TABLE {name} ALTER COLUMN {column} ADD GENERATED BY DEFAULT AS IDENTITY;"
                )),
                Some(default) => {
                    let expression = default_expression(System::Postgres, default)
                        .expect("constants and now() have an expression");
                    file.push(format!(
                        "ALTER TABLE {name} ALTER COLUMN {column} SET DEFAULT {expression};"
                    ));
                }
                None if !was_identity => file.push(format!(
                    "ALTER TABLE {name} ALTER COLUMN {column} DROP DEFAULT;"
                )),
                None => {}
            }
        }
        if changes.nullable {
            if new.nullable {
                file.push(format!(
                    "ALTER TABLE {name} ALTER COLUMN {column} DROP NOT NULL;"
                ));
            } else {
                if let Some(expression) = sql_default(new)
                    .and_then(|default| default_expression(System::Postgres, default))
                {
                    file.push(format!(
                        "UPDATE {name} SET {column} = {expression} WHERE {column} IS NULL;"
                    ));
                }
                let statement = format!("ALTER TABLE {name} ALTER COLUMN {column} SET NOT NULL;");
                match destructive_notes(table, "required", &new.name) {
                    Some(note) => file.push_destructive(note, statement),
                    None => file.push(statement),
                }
            }
        }
        if changes.primary_key && new.primary_key {
            file.push(format!("ALTER TABLE {name} ADD PRIMARY KEY ({column});"));
        }
        if changes.unique && new.unique && !new.primary_key {
            file.push(format!(
                "ALTER TABLE {name} ADD CONSTRAINT {} UNIQUE ({column});",
                quote(&postgres_constraint_name(
                    table_name,
                    Some(&new.name),
                    "key"
                ))
            ));
        }
        if changes.foreign_key && new.foreign_key.is_some() {
            file.push(add_foreign_key(table_name, new));
        }
    }
    for (index_name, index) in &table.created_indexes {
        file.push(create_index(table_name, index_name, index));
    }
}
