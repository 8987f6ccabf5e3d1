//! The typed query layer team code writes: a [`Column`] per entity field (generated as an
//! associated const, `Message::TEXT`), the [`Filter`]s its comparisons make, [`OrderBy`] terms,
//! a [`Query`] (filter, order, limit, offset, cursor) and the [`UniqueKey`] that `find_unique`
//! takes (generated as `User::by_username("ada")`).
//!
//! Rust types do the checking: a column is typed by its entity and its field's Rust type, so a
//! misspelled column, a column of another entity or a value of the wrong type does not compile,
//! `is_null` exists only on optional columns and `contains` only on text columns. Inside, every
//! typed item holds the untyped [`Condition`] and [`Selection`] that the SQL builder
//! (`statements.rs`) reads; auth uses those directly for the user table, whose Rust type it does
//! not know. A leaf beside the values it holds, so the SQL builder and the typed tables both use
//! it without importing each other.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};

use super::value::{Row, Value};

/// Sort direction of an [`OrderBy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Smallest first (a NULL counts as smaller than every value).
    Asc,
    /// Largest first (a NULL counts as smaller than every value, so it comes last).
    Desc,
}

mod sealed {
    /// Keeps [`ColumnValue`](super::ColumnValue) and [`ColumnType`](super::ColumnType) to the
    /// types the runtime can store.
    pub trait Sealed {}
}

/// The Rust type of a required column: `bool`, `i64`, `f64`, `String`, `DateTime<Utc>`,
/// `serde_json::Value`, `Vec<u8>`, or the untyped [`Value`] of a [`Column::named`].
pub trait ColumnValue: sealed::Sealed + Into<Value> {}

/// The Rust type of any column: a [`ColumnValue`], or `Option` of one for an optional (`?`)
/// field. `Scalar` is the value type without the `Option`, which ordering comparisons,
/// `is_in` and cursors take (a NULL is never smaller or larger than anything).
pub trait ColumnType: sealed::Sealed + Into<Value> {
    /// The type without `Option`.
    type Scalar: ColumnValue;
}

macro_rules! column_types {
    ($($rust_type:ty),* $(,)?) => {
        $(
            impl sealed::Sealed for $rust_type {}
            impl ColumnValue for $rust_type {}
            impl ColumnType for $rust_type {
                type Scalar = $rust_type;
            }
            impl sealed::Sealed for Option<$rust_type> {}
            impl ColumnType for Option<$rust_type> {
                type Scalar = $rust_type;
            }
        )*
    };
}

column_types!(
    bool,
    i64,
    f64,
    String,
    DateTime<Utc>,
    serde_json::Value,
    Vec<u8>,
    Value
);

/// One column of entity `E` holding Rust type `T` (`Option<_>` for an optional field). The
/// generator emits one per field as an associated const named after it in capitals:
/// `Message::TEXT: Column<Message, String>`, `Message::USER_ID: Column<Message, Option<i64>>`.
///
/// Comparisons make a [`Filter`]; `asc` and `desc` make an [`OrderBy`]:
///
/// ```ignore
/// Query::new()
///     .filter(Message::ROOM.eq("general").and(Message::TEXT.contains("50%")))
///     .order_by(Message::CREATED_AT.desc())
///     .limit(50)
/// ```
pub struct Column<E, T> {
    name: &'static str,
    types: PhantomData<fn() -> (E, T)>,
}

impl<E, T> Clone for Column<E, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E, T> Copy for Column<E, T> {}

impl<E, T> fmt::Debug for Column<E, T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Column({:?})", self.name)
    }
}

impl<E, T> Column<E, T> {
    /// `column IS NULL`, or `IS NOT NULL` when `negated`: what `eq`/`ne` with `None`,
    /// `is_null` and `is_not_null` select.
    fn null_check(self, negated: bool) -> Filter<E> {
        Filter::new(Condition::IsNull {
            column: Cow::Borrowed(self.name),
            negated,
        })
    }
}

/// A column of entity `E`, for generated code: `codegen::column::<Message, String>("text")`.
/// The name is the column's name in SQL.
pub const fn column<E, T: ColumnType>(name: &'static str) -> Column<E, T> {
    Column {
        name,
        types: PhantomData,
    }
}

impl<T: ColumnType> Column<Row, T> {
    /// A column of a table known only by its schema, for untyped access through
    /// [`Database::find_rows`](crate::Database::find_rows): `Column::<Row, String>::named("text")`.
    /// A name the table does not have is an error when the query runs.
    pub const fn named(name: &'static str) -> Self {
        column(name)
    }
}

impl<E, T: ColumnType> Column<E, T> {
    /// The column's name in SQL.
    pub fn name(self) -> &'static str {
        self.name
    }

    fn compare(self, operator: Comparison, value: Value) -> Filter<E> {
        Filter::new(Condition::Compare {
            column: Cow::Borrowed(self.name),
            operator,
            value,
        })
    }

    /// Rows whose value equals `value`; on an optional column, `None` selects the NULLs.
    pub fn eq(self, value: impl Into<T>) -> Filter<E> {
        match value.into().into() {
            Value::Null => self.null_check(false),
            value => self.compare(Comparison::Equal, value),
        }
    }

    /// Rows whose value differs from `value` (a NULL differs from nothing, as in SQL: it is
    /// not selected); on an optional column, `None` selects the rows that are not NULL.
    pub fn ne(self, value: impl Into<T>) -> Filter<E> {
        match value.into().into() {
            Value::Null => self.null_check(true),
            value => self.compare(Comparison::NotEqual, value),
        }
    }

    /// Rows whose value is smaller than `value`.
    pub fn lt(self, value: impl Into<T::Scalar>) -> Filter<E> {
        self.compare(Comparison::Less, value.into().into())
    }

    /// Rows whose value is smaller than or equal to `value`.
    pub fn lte(self, value: impl Into<T::Scalar>) -> Filter<E> {
        self.compare(Comparison::LessOrEqual, value.into().into())
    }

    /// Rows whose value is larger than `value`.
    pub fn gt(self, value: impl Into<T::Scalar>) -> Filter<E> {
        self.compare(Comparison::Greater, value.into().into())
    }

    /// Rows whose value is larger than or equal to `value`.
    pub fn gte(self, value: impl Into<T::Scalar>) -> Filter<E> {
        self.compare(Comparison::GreaterOrEqual, value.into().into())
    }

    /// Rows whose value is one of `values`. An empty list selects no row. Each value is one
    /// bound parameter, and a statement takes at most
    /// [`MAX_BOUND_VALUES`](crate::MAX_BOUND_VALUES) of them: split longer lists.
    pub fn is_in<V: Into<T::Scalar>>(self, values: impl IntoIterator<Item = V>) -> Filter<E> {
        Filter::new(Condition::In {
            column: Cow::Borrowed(self.name),
            values: values
                .into_iter()
                .map(|value| value.into().into())
                .collect(),
        })
    }

    /// Sorts by this column, smallest first.
    pub fn asc(self) -> OrderBy<E> {
        OrderBy::new(Cow::Borrowed(self.name), Order::Asc)
    }

    /// Sorts by this column, largest first.
    pub fn desc(self) -> OrderBy<E> {
        OrderBy::new(Cow::Borrowed(self.name), Order::Desc)
    }
}

impl<E, T: ColumnValue> Column<E, Option<T>> {
    /// Rows where this optional column is NULL.
    pub fn is_null(self) -> Filter<E> {
        self.null_check(false)
    }

    /// Rows where this optional column holds a value.
    pub fn is_not_null(self) -> Filter<E> {
        self.null_check(true)
    }
}

impl<E, T: ColumnType<Scalar = String>> Column<E, T> {
    /// Rows whose text contains `text`, case-sensitively and literally: `%`, `_` and every
    /// other character only ever match themselves.
    pub fn contains(self, text: impl Into<String>) -> Filter<E> {
        Filter::new(Condition::Text {
            column: Cow::Borrowed(self.name),
            operator: TextMatch::Contains,
            text: text.into(),
        })
    }

    /// Rows whose text starts with `text`, case-sensitively and literally.
    pub fn starts_with(self, text: impl Into<String>) -> Filter<E> {
        Filter::new(Condition::Text {
            column: Cow::Borrowed(self.name),
            operator: TextMatch::StartsWith,
            text: text.into(),
        })
    }
}

/// A condition on the rows of entity `E`, made by a [`Column`]'s comparisons and combined with
/// [`and`](Filter::and), [`or`](Filter::or) and [`not`](Filter::not) (or `!filter`).
pub struct Filter<E> {
    pub(crate) condition: Condition,
    entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Filter<E> {
    fn clone(&self) -> Self {
        Filter::new(self.condition.clone())
    }
}

impl<E> fmt::Debug for Filter<E> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.condition.fmt(formatter)
    }
}

impl<E> PartialEq for Filter<E> {
    fn eq(&self, other: &Self) -> bool {
        self.condition == other.condition
    }
}

impl<E> Filter<E> {
    fn new(condition: Condition) -> Self {
        Filter {
            condition,
            entity: PhantomData,
        }
    }

    /// Every row: what `update_many` and `delete_many` take to change the whole table.
    pub fn every_row() -> Self {
        Filter::new(Condition::All(Vec::new()))
    }

    /// Rows that match both filters.
    pub fn and(self, other: Filter<E>) -> Self {
        Filter::new(match self.condition {
            Condition::All(mut conditions) => {
                conditions.push(other.condition);
                Condition::All(conditions)
            }
            condition => Condition::All(vec![condition, other.condition]),
        })
    }

    /// Rows that match either filter.
    pub fn or(self, other: Filter<E>) -> Self {
        Filter::new(match self.condition {
            Condition::Any(mut conditions) => {
                conditions.push(other.condition);
                Condition::Any(conditions)
            }
            condition => Condition::Any(vec![condition, other.condition]),
        })
    }

    /// Rows that do not match the filter. As in SQL, a comparison with a NULL is neither true
    /// nor false, so `Message::USER_ID.eq(1).not()` does not select rows whose `userId` is NULL.
    #[allow(
        clippy::should_implement_trait,
        reason = "`not` reads like `and` and `or`; `!filter` works too"
    )]
    pub fn not(self) -> Self {
        Filter::new(Condition::Not(Box::new(self.condition)))
    }
}

impl<E> std::ops::Not for Filter<E> {
    type Output = Filter<E>;

    fn not(self) -> Filter<E> {
        Filter::not(self)
    }
}

/// One term of a [`Query`]'s order: a column and a direction, from [`Column::asc`] or
/// [`Column::desc`].
pub struct OrderBy<E> {
    pub(crate) term: OrderTerm,
    entity: PhantomData<fn() -> E>,
}

impl<E> Clone for OrderBy<E> {
    fn clone(&self) -> Self {
        OrderBy {
            term: self.term.clone(),
            entity: PhantomData,
        }
    }
}

impl<E> fmt::Debug for OrderBy<E> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.term.fmt(formatter)
    }
}

impl<E> OrderBy<E> {
    fn new(column: ColumnName, order: Order) -> Self {
        OrderBy {
            term: OrderTerm { column, order },
            entity: PhantomData,
        }
    }
}

/// A selection of rows of entity `E`: a filter, an order over several columns, a limit, an
/// offset and a cursor. `Query::new()` selects every row, in no particular order.
///
/// Cursor (keyset) pagination: order by columns that end with a unique one (`@id` or
/// `@unique`), and give [`after`](Query::after) the values of the last row of the previous page
/// for each order column, in the same order. The next page starts right after that row, however
/// many rows were inserted or deleted before it, and the database seeks to it through an index
/// instead of counting past `offset` rows:
///
/// ```ignore
/// let page = Query::new().order_by(Message::CREATED_AT.desc()).order_by(Message::ID.desc()).limit(50);
/// let first = messages.find_many(page.clone()).await?;
/// let last = first.last().unwrap();
/// let second = messages
///     .find_many(page.after(Message::CREATED_AT, last.created_at).after(Message::ID, last.id))
///     .await?;
/// ```
pub struct Query<E> {
    pub(crate) selection: Selection,
    entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Query<E> {
    fn clone(&self) -> Self {
        Query {
            selection: self.selection.clone(),
            entity: PhantomData,
        }
    }
}

impl<E> fmt::Debug for Query<E> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.selection.fmt(formatter)
    }
}

impl<E> Default for Query<E> {
    fn default() -> Self {
        Query::new()
    }
}

impl<E> From<Filter<E>> for Query<E> {
    fn from(filter: Filter<E>) -> Self {
        Query::new().filter(filter)
    }
}

impl<E> Query<E> {
    /// Every row.
    pub fn new() -> Self {
        Query {
            selection: Selection::default(),
            entity: PhantomData,
        }
    }

    /// Keeps the rows that match `filter` (and every earlier filter).
    pub fn filter(mut self, filter: Filter<E>) -> Self {
        self.selection.filter = Some(match self.selection.filter.take() {
            None => filter.condition,
            Some(earlier) => Filter::<E>::new(earlier).and(filter).condition,
        });
        self
    }

    /// Sorts by a column; later calls break the ties of earlier ones.
    pub fn order_by(mut self, order: OrderBy<E>) -> Self {
        self.selection.order.push(order.term);
        self
    }

    /// Returns at most `limit` rows.
    pub fn limit(mut self, limit: u64) -> Self {
        self.selection.limit = Some(limit);
        self
    }

    /// Skips the first `offset` rows.
    pub fn offset(mut self, offset: u64) -> Self {
        self.selection.offset = Some(offset);
        self
    }

    /// Starts after the row whose order columns hold these values: call it once per
    /// [`order_by`](Query::order_by) column, in the same order (see the type's docs). Only
    /// required columns can be cursor columns, and the last order column must be unique; the
    /// query fails with an error saying so otherwise.
    pub fn after<T: ColumnValue>(mut self, column: Column<E, T>, value: impl Into<T>) -> Self {
        self.selection
            .cursor
            .push((Cow::Borrowed(column.name), value.into().into()));
        self
    }
}

/// The row of entity `E` that one `@id`, `@unique` or `@@unique` names, for `find_unique`.
/// Generated per entity: `User::by_id(1)`, `User::by_username("ada")`,
/// `Membership::by_user_id_and_room(1, "lobby")`.
pub struct UniqueKey<E> {
    pub(crate) condition: Condition,
    entity: PhantomData<fn() -> E>,
}

impl<E> Clone for UniqueKey<E> {
    fn clone(&self) -> Self {
        unique_key(Filter::new(self.condition.clone()))
    }
}

impl<E> fmt::Debug for UniqueKey<E> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.condition.fmt(formatter)
    }
}

/// A unique key, for generated code: the equalities on the columns of one unique constraint.
pub fn unique_key<E>(equalities: Filter<E>) -> UniqueKey<E> {
    UniqueKey {
        condition: equalities.condition,
        entity: PhantomData,
    }
}

impl<E> From<UniqueKey<E>> for Filter<E> {
    fn from(key: UniqueKey<E>) -> Self {
        Filter::new(key.condition)
    }
}

/// A column's name in SQL: the generated columns' names are static, a schema's are not.
pub(crate) type ColumnName = Cow<'static, str>;

/// The untyped condition inside a [`Filter`]: column names as the schema writes them, and
/// values. The SQL builder checks every name against the table when it builds the statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    /// `column <operator> value`, the value never NULL.
    Compare {
        column: ColumnName,
        operator: Comparison,
        value: Value,
    },
    /// `column IS NULL`, or `IS NOT NULL` when negated.
    IsNull { column: ColumnName, negated: bool },
    /// `column IN (values)`; no row when the list is empty.
    In {
        column: ColumnName,
        values: Vec<Value>,
    },
    /// A literal, case-sensitive text match.
    Text {
        column: ColumnName,
        operator: TextMatch,
        text: String,
    },
    /// Every condition holds (every row when there is none).
    All(Vec<Condition>),
    /// At least one condition holds.
    Any(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

/// The comparison of a [`Condition::Compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// The kind of a [`Condition::Text`] match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextMatch {
    Contains,
    StartsWith,
}

/// One column of an order, untyped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderTerm {
    pub(crate) column: ColumnName,
    pub(crate) order: Order,
}

/// The untyped selection inside a [`Query`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Selection {
    pub(crate) filter: Option<Condition>,
    pub(crate) order: Vec<OrderTerm>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
    /// The cursor's column values, in the order's order.
    pub(crate) cursor: Vec<(ColumnName, Value)>,
}

impl Selection {
    /// The rows where `column` equals `value` (NULL when `value` is), at most one.
    pub(crate) fn one_where(column: impl Into<ColumnName>, value: Value) -> Self {
        let column = column.into();
        let condition = match value {
            Value::Null => Condition::IsNull {
                column,
                negated: false,
            },
            value => Condition::Compare {
                column,
                operator: Comparison::Equal,
                value,
            },
        };
        Selection {
            filter: Some(condition),
            limit: Some(1),
            ..Selection::default()
        }
    }
}
