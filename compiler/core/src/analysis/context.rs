//! The analysis context: what the declaration checks of pass 4 (`app` with `auth`, `sockets`,
//! `pages`) read from the earlier passes, and the import checker they share.
//!
//! A leaf for those checks: it holds the data of passes 1 to 3 and imports none of the modules
//! that use it, so a check reaches the declarations, entities and records through it instead of
//! through another check's module.

use super::checked_entity::CheckedEntity;
use super::declarations::Declarations;
use super::imports::ImportChecker;
use super::types::CheckedRecords;

/// What every declaration check may read, and the import checker it resolves imports with.
pub struct Context<'c, 'a, 'f> {
    /// Every declaration by name and kind (pass 1), so references may point forward.
    pub declarations: &'c Declarations<'a>,
    /// The entities, with their relations linked (pass 2).
    pub entities: &'c [CheckedEntity<'a>],
    /// The `type` records (pass 3).
    pub records: &'c CheckedRecords,
    /// Reads and scans the team's files, each once, for the imports of every declaration.
    pub imports: ImportChecker<'f>,
}
