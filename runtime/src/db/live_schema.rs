//! The shape of a database schema as data, to compare two of them: the live database's (read
//! from SQLite's pragmas or PostgreSQL's catalogs), or the one the declared tables ask for.
//! Versioned migrations use it to refuse a production start on a schema that differs from the
//! entities, to baseline a database created before migrations existed, and to recognise the
//! changes `appc dev` already made without a migration.
//!
//! A shape holds what decides whether the app's queries work: tables, columns with their
//! portable type and nullability, and indexes as (columns, unique), whatever their names (an
//! older build created unique columns inline, migrations may name the same index). Column
//! defaults are left out on purpose: an older build froze `@default(now())` as a literal, which
//! reads differently from the database's own time but serves the same rows.

use std::collections::{BTreeMap, BTreeSet};

use super::error::DbError;
use super::schema::{SqlType, TableSchema};
use super::sql::Conn;
use super::system::DbSystem;

/// The history table of versioned migrations, which no shape includes.
pub(crate) const HISTORY_TABLE: &str = "_appc_migrations";

/// One table's columns and indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TableShape {
    /// Column name -> (type, nullable). The type is the portable type's SQL name when the
    /// database reports a known one, else the reported name in lower case.
    columns: BTreeMap<String, (String, bool)>,
    /// Every index but the primary key's: (columns in order, unique).
    indexes: BTreeSet<(Vec<String>, bool)>,
}

/// Every table of a schema, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SchemaShape {
    tables: BTreeMap<String, TableShape>,
}

impl SchemaShape {
    /// The shape the declared tables ask for on `system`.
    pub(crate) fn declared(system: DbSystem, tables: &[&TableSchema]) -> SchemaShape {
        let mut shape = SchemaShape::default();
        for table in tables {
            let mut table_shape = TableShape::default();
            for column in &table.columns {
                table_shape.columns.insert(
                    column.name.clone(),
                    (
                        column.sql_type.sql_name(system).to_ascii_lowercase(),
                        column.nullable && !column.primary_key,
                    ),
                );
                if column.unique && !column.primary_key {
                    table_shape
                        .indexes
                        .insert((vec![column.name.clone()], true));
                }
            }
            for index in &table.indexes {
                table_shape
                    .indexes
                    .insert((index.columns.clone(), index.unique));
            }
            shape.tables.insert(table.name.clone(), table_shape);
        }
        shape
    }

    /// The live schema of the database `conn` is connected to (its current schema on
    /// PostgreSQL), without the migration history table.
    pub(crate) async fn read(conn: &mut Conn<'_>) -> Result<SchemaShape, DbError> {
        let system = conn.system();
        let table_names = match system {
            DbSystem::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            }
            DbSystem::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            }
        };
        let mut shape = SchemaShape::default();
        for name in conn
            .fetch_text_rows(table_names, Vec::new())
            .await?
            .into_iter()
            .filter_map(|mut row| row.pop().flatten())
            .filter(|name| name != HISTORY_TABLE)
        {
            shape.tables.insert(name, TableShape::default());
        }
        let columns = match system {
            DbSystem::Sqlite => {
                "SELECT m.name, c.name, c.type, CASE WHEN c.\"notnull\" = 1 OR c.pk > 0 THEN 'no' ELSE 'yes' END \
                 FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS c \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            }
            DbSystem::Postgres => {
                "SELECT c.table_name::text, c.column_name::text, c.data_type::text, \
                 CASE WHEN c.is_nullable = 'YES' THEN 'yes' ELSE 'no' END \
                 FROM information_schema.columns AS c \
                 WHERE c.table_schema = current_schema()"
            }
        };
        for row in conn.fetch_text_rows(columns, Vec::new()).await? {
            let [Some(table), Some(column), type_name, Some(nullable)] =
                <[_; 4]>::try_from(row).unwrap_or([None, None, None, None])
            else {
                continue;
            };
            let type_name = type_name.unwrap_or_default();
            let portable = SqlType::from_live_name(system, &type_name)
                .map(|sql_type| sql_type.sql_name(system).to_ascii_lowercase())
                .unwrap_or_else(|| type_name.to_ascii_lowercase());
            if let Some(table_shape) = shape.tables.get_mut(&table) {
                table_shape
                    .columns
                    .insert(column, (portable, nullable == "yes"));
            }
        }
        let indexes = match system {
            // One row per index, its columns joined by commas in index order.
            DbSystem::Sqlite => {
                "SELECT m.name, i.\"unique\", (SELECT group_concat(name, ',') FROM \
                 (SELECT info.name FROM pragma_index_info(i.name) AS info ORDER BY info.seqno)) \
                 FROM sqlite_master AS m JOIN pragma_index_list(m.name) AS i \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND i.origin <> 'pk'"
            }
            DbSystem::Postgres => {
                "SELECT t.relname::text, CASE WHEN ix.indisunique THEN '1' ELSE '0' END, \
                 string_agg(a.attname::text, ',' ORDER BY k.position) \
                 FROM pg_index AS ix \
                 JOIN pg_class AS t ON t.oid = ix.indrelid \
                 JOIN pg_namespace AS n ON n.oid = t.relnamespace \
                 CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, position) \
                 JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE n.nspname = current_schema() AND NOT ix.indisprimary \
                 GROUP BY ix.indexrelid, t.relname, ix.indisunique"
            }
        };
        for row in conn.fetch_text_rows(indexes, Vec::new()).await? {
            let [Some(table), unique, Some(columns)] =
                <[_; 3]>::try_from(row).unwrap_or([None, None, None])
            else {
                continue;
            };
            if let Some(table_shape) = shape.tables.get_mut(&table) {
                let columns = columns.split(',').map(str::to_owned).collect();
                table_shape
                    .indexes
                    .insert((columns, unique.as_deref() == Some("1")));
            }
        }
        Ok(shape)
    }

    /// Whether the schema has no tables at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// What differs between `self` (the live database) and `wanted`, one sentence each, in
    /// the words of someone reading the live database: "table `Message` is missing". Tables
    /// `wanted` does not have count only with `undeclared_tables`: the app's queries never
    /// touch them, and a PostgreSQL schema may be shared with other programs.
    pub(crate) fn differences(&self, wanted: &SchemaShape, undeclared_tables: bool) -> Vec<String> {
        let mut differences = Vec::new();
        for (name, wanted_table) in &wanted.tables {
            let Some(table) = self.tables.get(name) else {
                differences.push(format!("table `{name}` is missing"));
                continue;
            };
            for (column, (wanted_type, wanted_nullable)) in &wanted_table.columns {
                match table.columns.get(column) {
                    None => differences.push(format!("column `{name}.{column}` is missing")),
                    Some((live_type, _)) if live_type != wanted_type => differences.push(format!(
                        "column `{name}.{column}` is `{live_type}` instead of `{wanted_type}`"
                    )),
                    Some((_, live_nullable)) if live_nullable != wanted_nullable => differences
                        .push(format!(
                            "column `{name}.{column}` is {} instead of {}",
                            nullability(*live_nullable),
                            nullability(*wanted_nullable)
                        )),
                    Some(_) => {}
                }
            }
            for column in table.columns.keys() {
                if !wanted_table.columns.contains_key(column) {
                    differences.push(format!("column `{name}.{column}` is not declared"));
                }
            }
            for index in wanted_table.indexes.difference(&table.indexes) {
                differences.push(format!("{} is missing", describe_index(name, index)));
            }
            for index in table.indexes.difference(&wanted_table.indexes) {
                differences.push(format!("{} is not declared", describe_index(name, index)));
            }
        }
        for name in self.tables.keys() {
            if undeclared_tables && !wanted.tables.contains_key(name) {
                differences.push(format!("table `{name}` is not declared"));
            }
        }
        differences
    }
}

fn nullability(nullable: bool) -> &'static str {
    if nullable { "optional" } else { "required" }
}

fn describe_index(table: &str, (columns, unique): &(Vec<String>, bool)) -> String {
    format!(
        "{} on `{table}` ({})",
        if *unique {
            "a unique index"
        } else {
            "an index"
        },
        columns.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::{ColumnDefault, ColumnSchema};

    fn message(with_room: bool) -> TableSchema {
        let table = TableSchema::new("Message")
            .column(
                ColumnSchema::new("id", SqlType::Integer)
                    .primary_key()
                    .default(ColumnDefault::Autoincrement),
            )
            .column(ColumnSchema::new("text", SqlType::Text).unique());
        let table = if with_room {
            table.column(ColumnSchema::new("room", SqlType::Text).nullable())
        } else {
            table
        };
        table.index(&["text", "id"])
    }

    #[test]
    fn differences_name_missing_and_undeclared_parts() {
        let live = SchemaShape::declared(DbSystem::Sqlite, &[&message(false)]);
        let wanted = SchemaShape::declared(DbSystem::Sqlite, &[&message(true)]);
        assert_eq!(live.differences(&live, true), Vec::<String>::new());
        assert_eq!(
            live.differences(&wanted, true),
            ["column `Message.room` is missing"]
        );
        assert_eq!(
            wanted.differences(&live, true),
            ["column `Message.room` is not declared"]
        );
        let empty = SchemaShape::default();
        assert!(empty.is_empty());
        assert_eq!(
            empty.differences(&live, true),
            ["table `Message` is missing"]
        );
        assert_eq!(
            live.differences(&empty, true),
            ["table `Message` is not declared"]
        );
        assert!(live.differences(&empty, false).is_empty());
    }
}
