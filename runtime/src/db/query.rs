//! [`Query`] and [`Order`]: a selection of rows as plain data (equality filters, ordering, limit
//! and offset). A leaf beside the values it holds, so the SQL builder and the typed tables both
//! use it without importing each other.

use super::value::Value;

/// Sort direction for [`Query::order_by`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A selection of rows: equality filters (joined with AND; a `None` value matches NULL),
/// ordering, limit and offset. Column names are checked against the table's schema when the
/// query runs, so a typo is an error, never SQL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub(crate) filters: Vec<(String, Value)>,
    pub(crate) order: Vec<(String, Order)>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
}

impl Query {
    /// Every row.
    pub fn new() -> Self {
        Query::default()
    }

    /// Keeps rows whose `column` equals `value`.
    pub fn filter(mut self, column: &str, value: impl Into<Value>) -> Self {
        self.filters.push((column.to_owned(), value.into()));
        self
    }

    /// Sorts by `column`; later calls break ties of earlier ones.
    pub fn order_by(mut self, column: &str, order: Order) -> Self {
        self.order.push((column.to_owned(), order));
        self
    }

    /// Returns at most `limit` rows.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `offset` rows.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
}
