//! The comparison of two snapshots into a [`Diff`], with one human line per change and one per
//! change that loses data.

use std::collections::{BTreeMap, BTreeSet};

use super::diff::{Diff, Rename, TableDiff, TableRename, column_changes, is_widening, sql_default};
use super::snapshot::{
    ColumnDefault, ColumnSnapshot, ColumnType, Constant, IndexSnapshot, SchemaSnapshot,
    TableSnapshot,
};

/// Compares `previous` with `next`, with `renames` made first.
pub(super) fn diff(previous: &SchemaSnapshot, next: &SchemaSnapshot, renames: &[Rename]) -> Diff {
    Diff::new(previous, next, renames)
}

impl Diff {
    fn new(previous: &SchemaSnapshot, next: &SchemaSnapshot, renames: &[Rename]) -> Diff {
        let mut diff = Diff {
            table_renames: Vec::new(),
            created: Vec::new(),
            altered: Vec::new(),
            dropped: Vec::new(),
            changes: Vec::new(),
            destructive: Vec::new(),
            warnings: Vec::new(),
        };
        // The previous schema with the requested renames made, so that a renamed table or
        // column compares equal to its new self.
        let mut old_tables = previous.tables.clone();
        let mut table_renames: BTreeMap<String, String> = BTreeMap::new();
        for rename in renames {
            let Rename::Table { from, to } = rename else {
                continue;
            };
            if let Some(problem) = table_rename_problem(&old_tables, next, from, to) {
                diff.warnings.push(format!(
                    "the rename of table `{from}` to `{to}` is ignored: {problem}"
                ));
                continue;
            }
            let table = old_tables.remove(from).expect("checked above");
            old_tables.insert(to.clone(), table);
            for table in old_tables.values_mut() {
                for column in &mut table.columns {
                    if let Some(foreign_key) = &mut column.foreign_key
                        && foreign_key.table == *from
                    {
                        foreign_key.table = to.clone();
                    }
                }
            }
            table_renames.insert(from.clone(), to.clone());
        }
        let mut column_renames: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for rename in renames {
            let Rename::Column { table, from, to } = rename else {
                continue;
            };
            let table_name = table_renames.get(table).unwrap_or(table).clone();
            if let Some(problem) = column_rename_problem(&old_tables, next, &table_name, from, to) {
                diff.warnings.push(format!(
                    "the rename of column `{table}.{from}` to `{to}` is ignored: {problem}"
                ));
                continue;
            }
            let old_table = old_tables.get_mut(&table_name).expect("checked above");
            for column in &mut old_table.columns {
                if column.name == *from {
                    column.name = to.clone();
                }
            }
            for index in old_table.indexes.values_mut() {
                for column in &mut index.columns {
                    if column == from {
                        *column = to.clone();
                    }
                }
            }
            for other in old_tables.values_mut() {
                for column in &mut other.columns {
                    if let Some(foreign_key) = &mut column.foreign_key
                        && foreign_key.table == table_name
                        && foreign_key.column == *from
                    {
                        foreign_key.column = to.clone();
                    }
                }
            }
            column_renames
                .entry(table_name)
                .or_default()
                .push((from.clone(), to.clone()));
        }

        for (from, to) in &table_renames {
            diff.changes.push(format!(
                "rename table `{from}` to `{to}` (its rows are kept)"
            ));
            diff.table_renames.push(TableRename {
                from: from.clone(),
                to: to.clone(),
                previous: previous.tables[from].clone(),
            });
        }

        let created: Vec<&String> = next
            .tables
            .keys()
            .filter(|name| !old_tables.contains_key(*name))
            .collect();
        let dropped: Vec<&String> = old_tables
            .keys()
            .filter(|name| !next.tables.contains_key(*name))
            .collect();

        for name in creation_order(&created, next) {
            let table = &next.tables[&name];
            diff.changes.push(format!(
                "create table `{name}` (entity `{}`, {} columns)",
                table.entity,
                table.columns.len()
            ));
            for (index_name, index) in &table.indexes {
                diff.changes
                    .push(describe_index("add", &name, index_name, index));
            }
            diff.created.push((name, table.clone()));
        }

        for (name, new_table) in &next.tables {
            let Some(old_table) = old_tables.get(name) else {
                continue;
            };
            let table_diff = diff_table(
                name,
                old_table,
                new_table,
                column_renames.remove(name).unwrap_or_default(),
                &mut diff,
            );
            let nothing_changes = table_diff.added.is_empty()
                && table_diff.dropped.is_empty()
                && table_diff.changed.is_empty()
                && table_diff.column_renames.is_empty()
                && table_diff.dropped_indexes.is_empty()
                && table_diff.created_indexes.is_empty();
            if !nothing_changes {
                diff.altered.push(table_diff);
            }
        }

        let dropped_order = deletion_order(&dropped, &old_tables);
        for name in dropped_order {
            let table = old_tables[&name].clone();
            diff.changes.push(format!("drop table `{name}`"));
            let mut warning = format!(
                "table `{name}` (entity `{}`) is dropped with all its rows",
                table.entity
            );
            if let Some(appeared) = created.first() {
                warning.push_str(&format!(
                    "; if it was renamed to `{appeared}`, plan with the table rename `{name}` -> `{appeared}` instead to keep them"
                ));
            }
            diff.destructive.push(warning);
            diff.dropped.push((name, table));
        }
        diff
    }
}

fn table_rename_problem(
    old_tables: &BTreeMap<String, TableSnapshot>,
    next: &SchemaSnapshot,
    from: &str,
    to: &str,
) -> Option<String> {
    if !old_tables.contains_key(from) {
        return Some(format!("the previous schema has no table `{from}`"));
    }
    if !next.tables.contains_key(to) {
        return Some(format!("the spec has no table `{to}`"));
    }
    if next.tables.contains_key(from) {
        return Some(format!("the spec still has a table `{from}`"));
    }
    if old_tables.contains_key(to) {
        return Some(format!("the previous schema already has a table `{to}`"));
    }
    None
}

fn column_rename_problem(
    old_tables: &BTreeMap<String, TableSnapshot>,
    next: &SchemaSnapshot,
    table: &str,
    from: &str,
    to: &str,
) -> Option<String> {
    let (Some(old_table), Some(new_table)) = (old_tables.get(table), next.tables.get(table)) else {
        return Some(format!(
            "table `{table}` is not in both the previous schema and the spec"
        ));
    };
    if old_table.column(from).is_none() {
        return Some(format!(
            "the previous table `{table}` has no column `{from}`"
        ));
    }
    if new_table.column(to).is_none() {
        return Some(format!("the spec's table `{table}` has no column `{to}`"));
    }
    if new_table.column(from).is_some() {
        return Some(format!(
            "the spec's table `{table}` still has a column `{from}`"
        ));
    }
    if old_table.column(to).is_some() {
        return Some(format!(
            "the previous table `{table}` already has a column `{to}`"
        ));
    }
    None
}

fn diff_table(
    name: &str,
    old_table: &TableSnapshot,
    new_table: &TableSnapshot,
    column_renames: Vec<(String, String)>,
    diff: &mut Diff,
) -> TableDiff {
    let mut table_diff = TableDiff {
        name: name.to_owned(),
        old: old_table.clone(),
        new: new_table.clone(),
        column_renames: Vec::new(),
        added: Vec::new(),
        dropped: Vec::new(),
        changed: Vec::new(),
        dropped_indexes: Vec::new(),
        created_indexes: Vec::new(),
        destructive_columns: BTreeMap::new(),
    };
    for (from, to) in column_renames {
        diff.changes.push(format!(
            "rename column `{name}.{from}` to `{to}` (its values are kept)"
        ));
        table_diff.column_renames.push((from, to));
    }
    // The renamed columns now carry their new names in `old_table`; the SQL needs the old
    // names, which `column_renames` keeps.
    for new_column in &new_table.columns {
        match old_table.column(&new_column.name) {
            None => {
                diff.changes.push(format!(
                    "add column `{name}.{}` ({})",
                    new_column.name,
                    describe_column(new_column)
                ));
                if !new_column.nullable && sql_default(new_column).is_none() {
                    let note = format!(
                        "column `{name}.{}` is added as required without a default, so this migration fails on a table that has rows; make the field optional (`?`) or give it a @default, or fill it in this file",
                        new_column.name
                    );
                    diff.destructive.push(note.clone());
                    table_diff
                        .destructive_columns
                        .insert(format!("add {}", new_column.name), note);
                }
                table_diff.added.push(new_column.clone());
            }
            Some(old_column) if old_column != new_column => {
                describe_column_change(name, old_column, new_column, &mut table_diff, diff);
                table_diff
                    .changed
                    .push((old_column.clone(), new_column.clone()));
            }
            Some(_) => {}
        }
    }
    let appeared: Vec<&ColumnSnapshot> = table_diff.added.iter().collect();
    for old_column in &old_table.columns {
        if new_table.column(&old_column.name).is_some() {
            continue;
        }
        diff.changes
            .push(format!("drop column `{name}.{}`", old_column.name));
        let mut note = format!(
            "column `{name}.{}` is dropped with all its values",
            old_column.name
        );
        if let Some(candidate) = appeared
            .iter()
            .find(|column| column.column_type == old_column.column_type)
        {
            note.push_str(&format!(
                "; if it was renamed to `{}`, plan with the column rename `{name}.{}` -> `{}` instead to keep them",
                candidate.name, old_column.name, candidate.name
            ));
        }
        diff.destructive.push(note.clone());
        table_diff
            .destructive_columns
            .insert(format!("drop {}", old_column.name), note);
        table_diff.dropped.push(old_column.clone());
    }
    for (index_name, index) in &old_table.indexes {
        if new_table.indexes.get(index_name) != Some(index) {
            diff.changes
                .push(describe_index("drop", name, index_name, index));
            table_diff
                .dropped_indexes
                .push((index_name.clone(), index.clone()));
        }
    }
    for (index_name, index) in &new_table.indexes {
        if old_table.indexes.get(index_name) != Some(index) {
            diff.changes
                .push(describe_index("add", name, index_name, index));
            table_diff
                .created_indexes
                .push((index_name.clone(), index.clone()));
        }
    }
    table_diff
}

fn describe_column_change(
    table: &str,
    old: &ColumnSnapshot,
    new: &ColumnSnapshot,
    table_diff: &mut TableDiff,
    diff: &mut Diff,
) {
    let column = &new.name;
    let changes = column_changes(old, new);
    if changes.column_type {
        diff.changes.push(format!(
            "change the type of `{table}.{column}` from {} to {}",
            type_word(old.column_type),
            type_word(new.column_type)
        ));
        if !is_widening(old.column_type, new.column_type) {
            let note = format!(
                "column `{table}.{column}` changes from {} to {}: values that do not convert are lost (or make the migration fail)",
                type_word(old.column_type),
                type_word(new.column_type)
            );
            diff.destructive.push(note.clone());
            table_diff
                .destructive_columns
                .insert(format!("type {column}"), note);
        }
    }
    if changes.sql_default || changes.runtime_default {
        diff.changes.push(format!(
            "change the default of `{table}.{column}` from {} to {}",
            default_words(old.default.as_ref()),
            default_words(new.default.as_ref())
        ));
    }
    if changes.nullable {
        if new.nullable {
            diff.changes
                .push(format!("make `{table}.{column}` optional (nullable)"));
        } else if let Some(default) = sql_default(new) {
            diff.changes.push(format!(
                "make `{table}.{column}` required; rows where it is NULL get the default ({})",
                default_words(Some(default))
            ));
        } else {
            diff.changes
                .push(format!("make `{table}.{column}` required"));
            let note = format!(
                "column `{table}.{column}` becomes required without a default, so this migration fails if a row holds NULL in it; give the field a @default (NULLs then get it) or fill them in this file first"
            );
            diff.destructive.push(note.clone());
            table_diff
                .destructive_columns
                .insert(format!("required {column}"), note);
        }
    }
    if changes.primary_key {
        diff.changes.push(if new.primary_key {
            format!("make `{table}.{column}` the primary key")
        } else {
            format!("`{table}.{column}` is no longer the primary key")
        });
    }
    if changes.unique {
        diff.changes.push(if new.unique {
            format!("make `{table}.{column}` unique (fails if stored rows repeat a value)")
        } else {
            format!("`{table}.{column}` is no longer unique")
        });
    }
    if changes.foreign_key {
        diff.changes.push(match (&old.foreign_key, &new.foreign_key) {
            (None, Some(key)) => format!(
                "add the foreign key `{table}.{column}` -> `{}.{}`",
                key.table, key.column
            ),
            (Some(key), None) => format!(
                "drop the foreign key `{table}.{column}` -> `{}.{}`",
                key.table, key.column
            ),
            (_, Some(key)) => format!(
                "change the foreign key `{table}.{column}` -> `{}.{}` (on delete {}, on update {})",
                key.table,
                key.column,
                key.on_delete
                    .map_or("no action".to_owned(), |action| format!("{action:?}")),
                key.on_update
                    .map_or("no action".to_owned(), |action| format!("{action:?}")),
            ),
            (None, None) => unreachable!("the foreign keys differ"),
        });
    }
    if changes.updated_at {
        diff.changes.push(if new.updated_at {
            format!("`{table}.{column}` is set to the current time on every update (`@updatedAt`, done by the runtime)")
        } else {
            format!("`{table}.{column}` is no longer set on every update")
        });
    }
}

fn describe_index(verb: &str, table: &str, name: &str, index: &IndexSnapshot) -> String {
    format!(
        "{verb} {}index `{name}` on `{table}` ({})",
        if index.unique { "unique " } else { "" },
        index.columns.join(", ")
    )
}

fn describe_column(column: &ColumnSnapshot) -> String {
    let mut words = vec![type_word(column.column_type).to_owned()];
    words.push(
        if column.nullable {
            "optional"
        } else {
            "required"
        }
        .to_owned(),
    );
    if let Some(default) = &column.default {
        words.push(format!("default {}", default_words(Some(default))));
    }
    if column.unique {
        words.push("unique".to_owned());
    }
    if let Some(key) = &column.foreign_key {
        words.push(format!("references `{}.{}`", key.table, key.column));
    }
    words.join(", ")
}

fn type_word(column_type: ColumnType) -> &'static str {
    match column_type {
        ColumnType::Integer => "integer",
        ColumnType::Float => "float",
        ColumnType::Boolean => "boolean",
        ColumnType::Text => "text",
        ColumnType::DateTime => "date-time",
        ColumnType::Json => "json",
        ColumnType::Bytes => "bytes",
    }
}

fn default_words(default: Option<&ColumnDefault>) -> String {
    match default {
        None => "none".to_owned(),
        Some(ColumnDefault::Autoincrement) => "autoincrement()".to_owned(),
        Some(ColumnDefault::Uuid) => "uuid()".to_owned(),
        Some(ColumnDefault::Now) => "now()".to_owned(),
        Some(ColumnDefault::Constant(constant)) => constant_words(constant),
    }
}

/// The new tables in an order that creates every table after the tables its foreign keys point
/// at (PostgreSQL checks them at once); tables in a cycle come last, by name.
fn creation_order(created: &[&String], next: &SchemaSnapshot) -> Vec<String> {
    let pending: BTreeSet<&String> = created.iter().copied().collect();
    dependency_order(&pending, |name| {
        next.tables[name]
            .columns
            .iter()
            .filter_map(|column| column.foreign_key.as_ref())
            .map(|key| key.table.clone())
            .filter(|target| target != name)
            .collect()
    })
}

/// The dropped tables in an order that drops every table before the tables it points at.
fn deletion_order(
    dropped: &[&String],
    old_tables: &BTreeMap<String, TableSnapshot>,
) -> Vec<String> {
    let pending: BTreeSet<&String> = dropped.iter().copied().collect();
    // A table may be dropped once no other pending table points at it.
    dependency_order(&pending, |name| {
        pending
            .iter()
            .filter(|other| **other != name)
            .filter(|other| {
                old_tables[**other]
                    .columns
                    .iter()
                    .filter_map(|column| column.foreign_key.as_ref())
                    .any(|key| key.table == *name)
            })
            .map(|other| (*other).clone())
            .collect()
    })
}

/// Kahn's algorithm over `pending`, taking the smallest ready name first; `must_follow(name)`
/// names the tables that have to come before `name`. What a cycle leaves over comes last, by
/// name.
fn dependency_order(
    pending: &BTreeSet<&String>,
    must_follow: impl Fn(&String) -> Vec<String>,
) -> Vec<String> {
    let mut remaining: BTreeSet<String> = pending.iter().map(|name| (*name).clone()).collect();
    let mut order = Vec::new();
    loop {
        let ready = remaining.iter().find(|name| {
            must_follow(name)
                .iter()
                .all(|before| !remaining.contains(before))
        });
        match ready.cloned() {
            Some(name) => {
                remaining.remove(&name);
                order.push(name);
            }
            None => break,
        }
    }
    order.extend(remaining);
    order
}

/// A constant as `main.wasp` writes it, for the human lines.
pub(super) fn constant_words(constant: &Constant) -> String {
    match constant {
        Constant::Text(text) => format!("{text:?}"),
        Constant::Integer(number) => number.to_string(),
        Constant::Float(number) => format!("{number:?}"),
        Constant::Boolean(flag) => flag.to_string(),
    }
}
