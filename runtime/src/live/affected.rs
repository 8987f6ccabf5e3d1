//! Which entities a committed write changed, as live queries see them: the tables live queries
//! read, the tables whose deletions cascade into those, and the columns that say whose rows they
//! are. A [`TableChange`] from the entity layer becomes a list of [`Affected`] entities, each
//! with the users owning the changed rows when they are known.

use std::collections::{HashMap, HashSet};

use crate::db::{ReferentialAction, TableChange, TableSchema};

/// One entity whose rows changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Affected {
    /// The entity name live queries know it by.
    pub(crate) entity: String,
    /// The users owning the changed rows (as [`UserId`](crate::auth::UserId) prints them), or `None`
    /// when they are unknown (then every user's scoped query of the entity is concerned).
    pub(crate) owners: Option<Vec<String>>,
}

/// One table that matters to live queries.
#[derive(Debug, Default)]
struct WatchedTable {
    /// The entity name clients know it by, when a live query reads it.
    entity: Option<String>,
    /// Its columns that hold the owning user's id (or the user table's key).
    owner_schema: Option<TableSchema>,
    /// The tables whose rows a deletion here changes (foreign keys with `onDelete: Cascade` or
    /// `SetNull`), with whether their foreign key is an owner column (then the deleted rows'
    /// owners are theirs too: a deleted user's tasks).
    cascades_into: Vec<(String, bool)>,
}

/// The tables that matter to live queries, by table name.
#[derive(Debug, Default)]
pub(crate) struct WatchedTables {
    tables: HashMap<String, WatchedTable>,
}

impl WatchedTables {
    /// The tables that `read` (entity name, table name) live queries read, and those whose
    /// deletions cascade into them, among the app's `tables` (the user table named
    /// `user_table`).
    pub(crate) fn new<'a>(
        read: impl IntoIterator<Item = (&'a str, &'a str)>,
        tables: &[&TableSchema],
        user_table: Option<&str>,
    ) -> Self {
        let mut watched: HashMap<String, WatchedTable> = HashMap::new();
        for (entity, table) in read {
            watched.entry(table.to_owned()).or_default().entity = Some(entity.to_owned());
        }
        // Deletions cascade: a table a live query reads changes when a row it references is
        // deleted. Followed to any depth, since the watched set only grows.
        let mut grew = true;
        while grew {
            grew = false;
            for table in tables {
                if !watched.contains_key(&table.name) {
                    continue;
                }
                for column in &table.columns {
                    let Some(foreign_key) = &column.foreign_key else {
                        continue;
                    };
                    let cascades = matches!(
                        foreign_key.on_delete,
                        Some(ReferentialAction::Cascade | ReferentialAction::SetNull)
                    );
                    if !cascades {
                        continue;
                    }
                    let by_owner = user_table == Some(foreign_key.table.as_str());
                    let parent = watched.entry(foreign_key.table.clone()).or_default();
                    if !parent
                        .cascades_into
                        .iter()
                        .any(|(child, _)| child == &table.name)
                    {
                        parent.cascades_into.push((table.name.clone(), by_owner));
                        grew = true;
                    }
                }
            }
        }
        for table in tables {
            if let Some(watched_table) = watched.get_mut(&table.name) {
                watched_table.owner_schema = owner_schema(table, user_table);
            }
        }
        WatchedTables { tables: watched }
    }

    /// Whether writes to `table` matter to a live query.
    pub(crate) fn watches(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    /// The owner columns of `table`, when it has any.
    pub(crate) fn owner_schema(&self, table: &str) -> Option<&TableSchema> {
        self.tables.get(table)?.owner_schema.as_ref()
    }

    /// The entities `changes` affect, a deletion's cascades included.
    pub(crate) fn affected(&self, changes: &[TableChange]) -> Vec<Affected> {
        let mut affected = Vec::new();
        for change in changes {
            let mut seen = HashSet::new();
            self.collect(change, &mut affected, &mut seen);
        }
        affected
    }

    fn collect(
        &self,
        change: &TableChange,
        affected: &mut Vec<Affected>,
        seen: &mut HashSet<String>,
    ) {
        if !seen.insert(change.table.clone()) {
            return;
        }
        let Some(table) = self.tables.get(&change.table) else {
            return;
        };
        if let Some(entity) = &table.entity {
            affected.push(Affected {
                entity: entity.clone(),
                owners: change.owners.clone(),
            });
        }
        if change.deleted {
            for (child, by_owner) in &table.cascades_into {
                let cascaded = TableChange {
                    table: child.clone(),
                    deleted: true,
                    owners: if *by_owner {
                        change.owners.clone()
                    } else {
                        None
                    },
                };
                self.collect(&cascaded, affected, seen);
            }
        }
    }
}

/// The columns of `table` that hold a user's id: those referencing the user table, or the user
/// table's own key.
fn owner_schema(table: &TableSchema, user_table: Option<&str>) -> Option<TableSchema> {
    let user_table = user_table?;
    let mut schema = TableSchema::new(table.name.clone());
    for column in &table.columns {
        let owns = if table.name == user_table {
            column.primary_key
        } else {
            column
                .foreign_key
                .as_ref()
                .is_some_and(|foreign_key| foreign_key.table == user_table)
        };
        if owns {
            schema = schema.column(column.clone());
        }
    }
    (!schema.columns.is_empty()).then_some(schema)
}
