//! What a committed write changed, as the entity layer reports it to whoever listens (the live
//! queries' hub, `live/`): the table, whether rows were deleted, and the users owning the rows
//! (the values of the columns that reference the user table) when they are known.
//!
//! The entity layer ([`Table`](super::Table) and [`Transaction`](super::Transaction)) records a
//! [`TableChange`] for every write and hands it to the [`ChangeSink`] only once the write is
//! committed: right after an autocommit write returns, at
//! [`Transaction::commit`](super::Transaction::commit) for the writes of a transaction (a
//! transaction rolled back or dropped reports nothing). This module knows nothing of sockets:
//! the listener is a trait object set once the server has built its hub, so the database never
//! depends on the live module.

use std::sync::{Arc, OnceLock};

use super::schema::TableSchema;
use super::value::{Row, Value};

/// Past this many distinct owners in one change, the change reports its owners as unknown:
/// every scoped subscriber of the table is told instead of one room per user, which keeps a
/// bulk write's notification small.
pub const MAX_OWNERS_PER_CHANGE: usize = 1000;

/// One write's effect on one table, reported after it committed (and, with Redis, relayed to
/// the other processes as JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableChange {
    /// The table's name (the entity's table).
    pub table: String,
    /// Rows were deleted (so the tables whose foreign keys cascade from it changed too).
    pub deleted: bool,
    /// The users owning the changed rows (as [`UserId`](crate::UserId) prints them), or `None`
    /// when they are unknown: a raw SQL write invalidated by hand, an update that moved rows to
    /// another owner, or more than [`MAX_OWNERS_PER_CHANGE`] owners.
    pub owners: Option<Vec<String>>,
}

impl TableChange {
    /// A change whose owners are unknown (an explicit invalidation, a table without owners).
    pub fn unknown_owners(table: &str, deleted: bool) -> Self {
        TableChange {
            table: table.to_owned(),
            deleted,
            owners: None,
        }
    }

    /// A change of `rows`, whose owners are the values of `owner_schema`'s columns in them
    /// (NULLs skipped); unknown when there are too many.
    pub(crate) fn of_rows(
        table: &str,
        owner_schema: &TableSchema,
        rows: &[Row],
        deleted: bool,
    ) -> Self {
        let mut owners: Vec<String> = Vec::new();
        for row in rows {
            for (name, value) in row.values() {
                if !owner_schema
                    .columns
                    .iter()
                    .any(|column| &column.name == name)
                {
                    continue;
                }
                let owner = match value {
                    Value::Int(id) => id.to_string(),
                    Value::Text(id) => id.clone(),
                    _ => continue,
                };
                if !owners.contains(&owner) {
                    owners.push(owner);
                }
            }
            if owners.len() > MAX_OWNERS_PER_CHANGE {
                return TableChange::unknown_owners(table, deleted);
            }
        }
        TableChange {
            table: table.to_owned(),
            deleted,
            owners: Some(owners),
        }
    }
}

impl TableChange {
    /// Adds another change of the same table (a transaction's later write): rows deleted by
    /// either, the owners of both, unknown if either's are (or there are too many).
    pub(crate) fn merge(&mut self, other: TableChange) {
        self.deleted |= other.deleted;
        self.owners = match (self.owners.take(), other.owners) {
            (Some(mut owners), Some(more)) => {
                for owner in more {
                    if !owners.contains(&owner) {
                        owners.push(owner);
                    }
                }
                (owners.len() <= MAX_OWNERS_PER_CHANGE).then_some(owners)
            }
            _ => None,
        };
    }
}

/// What the database reports committed changes to: the live queries' hub.
pub trait ChangeListener: Send + Sync + 'static {
    /// Whether changes to `table` matter to anyone (a live query reads it, or a deletion there
    /// cascades into one that does); writes to other tables record nothing.
    fn watches(&self, table: &str) -> bool;
    /// The columns of `table` that reference the user table (and the user table's own key),
    /// as a schema of those columns alone, when it has any: the entity layer reads them back
    /// from the rows it writes (`RETURNING`) to know whose rows changed.
    fn owner_schema(&self, table: &str) -> Option<&TableSchema>;
    /// Called once per committed write (or transaction) with what it changed.
    fn committed(&self, changes: Vec<TableChange>);
}

/// The slot every clone of a [`Database`](super::Database) shares, where the server puts its
/// listener once it has built it (after the database is connected and migrated).
#[derive(Clone, Default)]
pub(crate) struct ChangeSink(Arc<OnceLock<Arc<dyn ChangeListener>>>);

impl std::fmt::Debug for ChangeSink {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ChangeSink")
            .field("listening", &self.0.get().is_some())
            .finish()
    }
}

impl ChangeSink {
    /// Sets the listener; `false` if one was already set (the first one stays).
    pub(crate) fn listen(&self, listener: Arc<dyn ChangeListener>) -> bool {
        self.0.set(listener).is_ok()
    }

    /// The listener, when there is one and it watches `table`.
    pub(crate) fn watching(&self, table: &str) -> Option<&dyn ChangeListener> {
        self.0
            .get()
            .map(|listener| &**listener)
            .filter(|listener| listener.watches(table))
    }

    /// Reports committed changes; nothing happens without a listener or changes.
    pub(crate) fn publish(&self, changes: Vec<TableChange>) {
        if changes.is_empty() {
            return;
        }
        if let Some(listener) = self.0.get() {
            listener.committed(changes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::{ColumnSchema, SqlType};

    fn owners_schema() -> TableSchema {
        TableSchema::new("Task").column(ColumnSchema::new("userId", SqlType::Integer))
    }

    fn task(id: i64, user_id: Value) -> Row {
        Row::from_values(
            "Task",
            vec![("id".into(), Value::Int(id)), ("userId".into(), user_id)],
        )
    }

    #[test]
    fn owners_are_the_owner_columns_of_the_rows_each_once_without_nulls() {
        let rows = [
            task(1, Value::Int(7)),
            task(2, Value::Int(7)),
            task(3, Value::Null),
            task(4, Value::Int(9)),
        ];
        let change = TableChange::of_rows("Task", &owners_schema(), &rows, false);
        assert_eq!(change.owners, Some(vec!["7".to_owned(), "9".to_owned()]));
    }

    #[test]
    fn merged_changes_keep_every_owner_once_and_unknown_wins() {
        let mut change =
            TableChange::of_rows("Task", &owners_schema(), &[task(1, Value::Int(7))], false);
        change.merge(TableChange::of_rows(
            "Task",
            &owners_schema(),
            &[task(2, Value::Int(7)), task(3, Value::Int(8))],
            true,
        ));
        assert_eq!(
            change,
            TableChange {
                table: "Task".to_owned(),
                deleted: true,
                owners: Some(vec!["7".to_owned(), "8".to_owned()]),
            }
        );
        change.merge(TableChange::unknown_owners("Task", false));
        assert_eq!(change, TableChange::unknown_owners("Task", true));
    }

    #[test]
    fn too_many_owners_make_them_unknown() {
        let rows: Vec<Row> = (0..=MAX_OWNERS_PER_CHANGE as i64)
            .map(|id| task(id, Value::Int(id)))
            .collect();
        let change = TableChange::of_rows("Task", &owners_schema(), &rows, true);
        assert_eq!(change, TableChange::unknown_owners("Task", true));
        let change = TableChange::of_rows(
            "Task",
            &owners_schema(),
            &rows[..MAX_OWNERS_PER_CHANGE],
            true,
        );
        assert_eq!(change.owners.map(|owners| owners.len()), Some(1000));
    }
}
