//! Typed queries against a real SQLite file and, when `APPC_TEST_POSTGRES_URL` is set, a real
//! PostgreSQL server: every comparison, `is_in`, `is_null`, the literal text matches, `and`,
//! `or`, `not`, ordering by several columns (NULLs included), limit and offset, cursors,
//! `count`, `exists`, `find_unique` by a single and a composite key, and `update_many` and
//! `delete_many`, each with the same results on both systems. Hostile input too: wildcards in
//! matched text, an empty `is_in` list, and lists at and beyond the bound-value limit.

mod common;

use std::sync::LazyLock;

use appc_runtime::codegen::{
    ColumnSchema, Entity, IntoColumns, SqlType, TableSchema, column, migrate, unique_key,
};
use appc_runtime::{
    Column, Database, DbError, Filter, MAX_BOUND_VALUES, Query, Row, UniqueKey, Value,
};

// ---- An entity with every kind of column the operators need, as the generator emits it ----

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    id: i64,
    code: String,
    player: String,
    team: String,
    points: i64,
    ratio: f64,
    active: bool,
    nickname: Option<String>,
    bonus: Option<i64>,
}

struct NewEntry {
    code: &'static str,
    player: &'static str,
    team: &'static str,
    points: i64,
    ratio: f64,
    active: bool,
    nickname: Option<&'static str>,
    bonus: Option<i64>,
}

#[derive(Default)]
struct EntryUpdate {
    points: Option<i64>,
    nickname: Option<Option<String>>,
}

impl Entry {
    const ID: Column<Entry, i64> = column("id");
    const CODE: Column<Entry, String> = column("code");
    const PLAYER: Column<Entry, String> = column("player");
    const TEAM: Column<Entry, String> = column("team");
    const POINTS: Column<Entry, i64> = column("points");
    const RATIO: Column<Entry, f64> = column("ratio");
    const ACTIVE: Column<Entry, bool> = column("active");
    const NICKNAME: Column<Entry, Option<String>> = column("nickname");
    const BONUS: Column<Entry, Option<i64>> = column("bonus");

    fn by_code(code: impl Into<String>) -> UniqueKey<Entry> {
        let code: String = code.into();
        unique_key(Entry::CODE.eq(code))
    }

    fn by_player_and_team(player: impl Into<String>, team: impl Into<String>) -> UniqueKey<Entry> {
        let player: String = player.into();
        let team: String = team.into();
        unique_key(Entry::PLAYER.eq(player).and(Entry::TEAM.eq(team)))
    }
}

static ENTRY_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
    TableSchema::new("Entry")
        .column(common::autoincrement_id())
        .column(ColumnSchema::new("code", SqlType::Text).unique())
        .column(ColumnSchema::new("player", SqlType::Text))
        .column(ColumnSchema::new("team", SqlType::Text))
        .column(ColumnSchema::new("points", SqlType::Integer))
        .column(ColumnSchema::new("ratio", SqlType::Float))
        .column(ColumnSchema::new("active", SqlType::Boolean))
        .column(ColumnSchema::new("nickname", SqlType::Text).nullable())
        .column(ColumnSchema::new("bonus", SqlType::Integer).nullable())
        .unique_index(&["player", "team"])
});

impl Entity for Entry {
    type Id = i64;
    type New = NewEntry;
    type Update = EntryUpdate;

    fn schema() -> &'static TableSchema {
        &ENTRY_SCHEMA
    }

    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Entry {
            id: row.get("id")?,
            code: row.get("code")?,
            player: row.get("player")?,
            team: row.get("team")?,
            points: row.get("points")?,
            ratio: row.get("ratio")?,
            active: row.get("active")?,
            nickname: row.get("nickname")?,
            bonus: row.get("bonus")?,
        })
    }
}

impl IntoColumns for NewEntry {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        vec![
            ("code", self.code.into()),
            ("player", self.player.into()),
            ("team", self.team.into()),
            ("points", self.points.into()),
            ("ratio", self.ratio.into()),
            ("active", self.active.into()),
            ("nickname", self.nickname.into()),
            ("bonus", self.bonus.into()),
        ]
    }
}

impl IntoColumns for EntryUpdate {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        let mut columns = Vec::new();
        if let Some(points) = self.points {
            columns.push(("points", points.into()));
        }
        if let Some(nickname) = self.nickname {
            columns.push(("nickname", nickname.into()));
        }
        columns
    }
}

/// Six entries; the nicknames hold every wildcard of `LIKE` and `GLOB`, and two differ only in
/// case.
fn seed_entries() -> Vec<NewEntry> {
    type Seed = (
        &'static str,
        &'static str,
        &'static str,
        i64,
        f64,
        bool,
        Option<&'static str>,
        Option<i64>,
    );
    let seeds: [Seed; 6] = [
        ("a1", "ann", "red", 10, 0.5, true, Some("Annie"), Some(3)),
        ("b1", "bob", "red", 20, 1.5, false, None, None),
        ("c1", "cy", "blue", 20, 2.5, true, Some("50%_off"), Some(1)),
        ("d1", "dee", "blue", 30, 0.25, false, Some("a*b?[c]"), None),
        ("e1", "ann", "blue", 5, 3.0, true, Some("annie"), Some(2)),
        ("f1", "fay", "green", 40, 1.0, true, None, Some(1)),
    ];
    seeds
        .into_iter()
        .map(
            |(code, player, team, points, ratio, active, nickname, bonus)| NewEntry {
                code,
                player,
                team,
                points,
                ratio,
                active,
                nickname,
                bonus,
            },
        )
        .collect()
}

/// A fresh, seeded database of every available system. The temporary directory keeps the
/// SQLite file alive for the test's duration.
async fn seeded_databases() -> (Vec<Database>, tempfile::TempDir) {
    let (databases, directory) = common::fresh_databases().await;
    for database in &databases {
        migrate(database, &[Entry::schema()]).await.unwrap();
        for new in seed_entries() {
            database.table::<Entry>().create(new).await.unwrap();
        }
    }
    (databases, directory)
}

async fn codes(database: &Database, query: Query<Entry>) -> Vec<String> {
    database
        .table::<Entry>()
        .find_many(query)
        .await
        .unwrap_or_else(|error| panic!("{:?}: {error}", database.system()))
        .into_iter()
        .map(|entry| entry.code)
        .collect()
}

/// Rows of a filter, by code, so the result does not depend on the order the database picks.
fn by_code(filter: Filter<Entry>) -> Query<Entry> {
    Query::new().filter(filter).order_by(Entry::CODE.asc())
}

/// Every case: a name, its query and the codes it must return, in order.
fn cases() -> Vec<(&'static str, Query<Entry>, Vec<&'static str>)> {
    vec![
        ("eq", by_code(Entry::POINTS.eq(20)), vec!["b1", "c1"]),
        (
            "ne",
            by_code(Entry::POINTS.ne(20)),
            vec!["a1", "d1", "e1", "f1"],
        ),
        ("lt", by_code(Entry::POINTS.lt(20)), vec!["a1", "e1"]),
        (
            "lte",
            by_code(Entry::POINTS.lte(20)),
            vec!["a1", "b1", "c1", "e1"],
        ),
        ("gt", by_code(Entry::POINTS.gt(20)), vec!["d1", "f1"]),
        (
            "gte",
            by_code(Entry::POINTS.gte(20)),
            vec!["b1", "c1", "d1", "f1"],
        ),
        // An integer literal compares with a float column.
        (
            "float gt",
            by_code(Entry::RATIO.gt(1)),
            vec!["b1", "c1", "e1"],
        ),
        (
            "float lte",
            by_code(Entry::RATIO.lte(0.5)),
            vec!["a1", "d1"],
        ),
        ("bool", by_code(Entry::ACTIVE.eq(false)), vec!["b1", "d1"]),
        ("text eq", by_code(Entry::TEAM.eq("green")), vec!["f1"]),
        (
            "text gt",
            by_code(Entry::TEAM.gt("blue")),
            vec!["a1", "b1", "f1"],
        ),
        (
            "in",
            by_code(Entry::POINTS.is_in([10, 30])),
            vec!["a1", "d1"],
        ),
        (
            "text in",
            by_code(Entry::CODE.is_in(["f1", "a1", "zz"])),
            vec!["a1", "f1"],
        ),
        (
            "empty in",
            by_code(Entry::POINTS.is_in(Vec::<i64>::new())),
            vec![],
        ),
        (
            "is null",
            by_code(Entry::NICKNAME.is_null()),
            vec!["b1", "f1"],
        ),
        (
            "is not null",
            by_code(Entry::NICKNAME.is_not_null()),
            vec!["a1", "c1", "d1", "e1"],
        ),
        (
            "eq None",
            by_code(Entry::NICKNAME.eq(None)),
            vec!["b1", "f1"],
        ),
        (
            "ne None",
            by_code(Entry::NICKNAME.ne(None)),
            vec!["a1", "c1", "d1", "e1"],
        ),
        (
            "optional eq",
            by_code(Entry::NICKNAME.eq("Annie".to_owned())),
            vec!["a1"],
        ),
        (
            "optional eq literal",
            by_code(Entry::BONUS.eq(1)),
            vec!["c1", "f1"],
        ),
        // NULLs are neither larger nor smaller than a value.
        ("optional gt", by_code(Entry::BONUS.gt(1)), vec!["a1", "e1"]),
        ("optional ne", by_code(Entry::BONUS.ne(1)), vec!["a1", "e1"]),
        // Text matches are literal and case-sensitive on both systems.
        (
            "contains %",
            by_code(Entry::NICKNAME.contains("%")),
            vec!["c1"],
        ),
        (
            "contains _",
            by_code(Entry::NICKNAME.contains("_")),
            vec!["c1"],
        ),
        (
            "contains %_",
            by_code(Entry::NICKNAME.contains("0%_o")),
            vec!["c1"],
        ),
        (
            "contains *",
            by_code(Entry::NICKNAME.contains("*")),
            vec!["d1"],
        ),
        (
            "contains ?",
            by_code(Entry::NICKNAME.contains("?")),
            vec!["d1"],
        ),
        (
            "contains [c]",
            by_code(Entry::NICKNAME.contains("[c]")),
            vec!["d1"],
        ),
        (
            "contains backslash",
            by_code(Entry::NICKNAME.contains("\\")),
            vec![],
        ),
        (
            "contains case",
            by_code(Entry::NICKNAME.contains("nni")),
            vec!["a1", "e1"],
        ),
        (
            "contains nothing",
            by_code(Entry::NICKNAME.contains("")),
            vec!["a1", "c1", "d1", "e1"],
        ),
        (
            "starts_with case",
            by_code(Entry::NICKNAME.starts_with("ann")),
            vec!["e1"],
        ),
        (
            "starts_with %",
            by_code(Entry::NICKNAME.starts_with("%")),
            vec![],
        ),
        (
            "starts_with _",
            by_code(Entry::NICKNAME.starts_with("_")),
            vec![],
        ),
        (
            "required text contains",
            by_code(Entry::PLAYER.contains("a")),
            vec!["a1", "e1", "f1"],
        ),
        (
            "and",
            by_code(Entry::TEAM.eq("blue").and(Entry::POINTS.gte(20))),
            vec!["c1", "d1"],
        ),
        (
            "or",
            by_code(Entry::TEAM.eq("green").or(Entry::POINTS.lt(10))),
            vec!["e1", "f1"],
        ),
        (
            "not",
            by_code(Entry::TEAM.eq("red").not()),
            vec!["c1", "d1", "e1", "f1"],
        ),
        (
            "! operator",
            by_code(!Entry::ACTIVE.eq(true)),
            vec!["b1", "d1"],
        ),
        // As in SQL, `not` of a comparison does not select the NULLs.
        (
            "not with NULLs",
            by_code(!Entry::NICKNAME.eq("Annie".to_owned())),
            vec!["c1", "d1", "e1"],
        ),
        (
            "nested",
            by_code(
                Entry::TEAM
                    .eq("red")
                    .or(Entry::TEAM.eq("green"))
                    .and(Entry::ACTIVE.eq(true)),
            ),
            vec!["a1", "f1"],
        ),
        (
            "not of or",
            by_code(Entry::TEAM.eq("red").or(Entry::TEAM.eq("green")).not()),
            vec!["c1", "d1", "e1"],
        ),
        (
            "several filters",
            by_code(Entry::ACTIVE.eq(true)).filter(Entry::POINTS.lt(40)),
            vec!["a1", "c1", "e1"],
        ),
        (
            "order by several columns",
            Query::new()
                .order_by(Entry::TEAM.asc())
                .order_by(Entry::POINTS.desc())
                .order_by(Entry::CODE.asc()),
            vec!["d1", "c1", "e1", "f1", "b1", "a1"],
        ),
        (
            "limit and offset",
            Query::new()
                .order_by(Entry::TEAM.asc())
                .order_by(Entry::POINTS.desc())
                .order_by(Entry::CODE.asc())
                .offset(2)
                .limit(3),
            vec!["e1", "f1", "b1"],
        ),
        (
            "offset without limit",
            Query::new()
                .order_by(Entry::POINTS.asc())
                .order_by(Entry::CODE.asc())
                .offset(4),
            vec!["d1", "f1"],
        ),
        (
            "NULLs first ascending",
            Query::new()
                .order_by(Entry::BONUS.asc())
                .order_by(Entry::CODE.asc()),
            vec!["b1", "d1", "c1", "f1", "e1", "a1"],
        ),
        (
            "NULLs last descending",
            Query::new()
                .order_by(Entry::BONUS.desc())
                .order_by(Entry::CODE.asc()),
            vec!["a1", "e1", "c1", "f1", "b1", "d1"],
        ),
        (
            "a filter is a query",
            Query::from(Entry::TEAM.eq("red")).order_by(Entry::CODE.desc()),
            vec!["b1", "a1"],
        ),
    ]
}

#[tokio::test]
async fn every_operator_selects_the_same_rows_on_every_system() {
    let (databases, _directory) = seeded_databases().await;
    let mut results_per_system = Vec::new();
    for database in &databases {
        let system = database.system();
        let mut results = Vec::new();
        for (name, query, expected) in cases() {
            let found = codes(database, query).await;
            assert_eq!(found, expected, "{system:?}: {name}");
            results.push((name, found));
        }
        results_per_system.push(results);
    }
    for results in &results_per_system[1..] {
        assert_eq!(results, &results_per_system[0]);
    }
}

#[tokio::test]
async fn a_cursor_pages_through_the_order_without_skipping_ties() {
    let (databases, _directory) = seeded_databases().await;
    for database in &databases {
        let system = database.system();
        let entries = database.table::<Entry>();
        let order = Query::new()
            .order_by(Entry::POINTS.desc())
            .order_by(Entry::CODE.asc());
        let mut pages = Vec::new();
        let mut page = entries.find_many(order.clone().limit(3)).await.unwrap();
        while !page.is_empty() {
            pages.push(
                page.iter()
                    .map(|entry| entry.code.clone())
                    .collect::<Vec<_>>(),
            );
            let last = page.last().unwrap().clone();
            page = entries
                .find_many(
                    order
                        .clone()
                        .after(Entry::POINTS, last.points)
                        .after(Entry::CODE, last.code)
                        .limit(3),
                )
                .await
                .unwrap();
        }
        // b1 and c1 share 20 points and fall on both sides of the first page's end.
        assert_eq!(
            pages,
            [vec!["f1", "d1", "b1"], vec!["c1", "a1", "e1"]],
            "{system:?}"
        );
        // A cursor counts like a filter.
        let after_b1 = order
            .clone()
            .after(Entry::POINTS, 20)
            .after(Entry::CODE, "b1");
        assert_eq!(
            entries.count(after_b1.clone()).await.unwrap(),
            3,
            "{system:?}"
        );
        assert!(entries.exists(after_b1).await.unwrap(), "{system:?}");

        // A cursor that does not match the order, or whose order could tie, is refused.
        let mismatched = entries
            .find_many(order.clone().after(Entry::CODE, "b1"))
            .await
            .unwrap_err();
        assert!(
            mismatched
                .to_string()
                .contains("one `after` value per order column"),
            "{system:?}: {mismatched}"
        );
        let not_unique = entries
            .find_many(
                Query::new()
                    .order_by(Entry::POINTS.desc())
                    .after(Entry::POINTS, 20),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(not_unique, DbError::InvalidQuery { .. })
                && not_unique.to_string().contains("must be unique"),
            "{system:?}: {not_unique}"
        );
        let optional = database
            .find_rows(
                Entry::schema(),
                Query::new()
                    .order_by(Column::<Row, Value>::named("bonus").asc())
                    .after(Column::<Row, Value>::named("bonus"), 1),
            )
            .await
            .unwrap_err();
        assert!(
            optional.to_string().contains("optional"),
            "{system:?}: {optional}"
        );
    }
}

#[tokio::test]
async fn count_exists_and_find_unique_by_single_and_composite_keys() {
    let (databases, _directory) = seeded_databases().await;
    for database in &databases {
        let system = database.system();
        let entries = database.table::<Entry>();
        assert_eq!(entries.count(Query::new()).await.unwrap(), 6, "{system:?}");
        assert_eq!(
            entries
                .count(Query::new().filter(Entry::TEAM.eq("red")))
                .await
                .unwrap(),
            2,
            "{system:?}"
        );
        // Order, limit and offset do not change a count.
        assert_eq!(
            entries
                .count(Query::new().order_by(Entry::CODE.asc()).limit(1).offset(1))
                .await
                .unwrap(),
            6,
            "{system:?}"
        );
        assert!(
            entries
                .exists(Query::from(Entry::TEAM.eq("green")))
                .await
                .unwrap()
        );
        assert!(
            !entries
                .exists(Query::from(Entry::TEAM.eq("purple")))
                .await
                .unwrap()
        );
        assert!(
            !entries
                .exists(Query::from(Entry::POINTS.is_in(Vec::<i64>::new())))
                .await
                .unwrap()
        );

        let c1 = entries
            .find_unique(Entry::by_code("c1"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((c1.player.as_str(), c1.points), ("cy", 20), "{system:?}");
        assert_eq!(entries.find(c1.id).await.unwrap(), Some(c1.clone()));
        let ann_blue = entries
            .find_unique(Entry::by_player_and_team("ann", "blue"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ann_blue.code, "e1", "{system:?}");
        assert_eq!(
            entries
                .find_unique(Entry::by_player_and_team("ann", "green"))
                .await
                .unwrap(),
            None,
            "{system:?}"
        );
        assert_eq!(
            entries.find_unique(Entry::by_code("zz")).await.unwrap(),
            None
        );
        let first = entries
            .find_first(Query::new().order_by(Entry::RATIO.desc()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.code, "e1", "{system:?}");
    }
}

#[tokio::test]
async fn update_many_and_delete_many_say_how_many_rows_they_changed() {
    let (databases, _directory) = seeded_databases().await;
    for database in &databases {
        let system = database.system();
        let entries = database.table::<Entry>();
        let doubled = EntryUpdate {
            points: Some(100),
            nickname: Some(Some("red team".to_owned())),
        };
        assert_eq!(
            entries
                .update_many(Entry::TEAM.eq("red"), doubled)
                .await
                .unwrap(),
            2,
            "{system:?}"
        );
        assert_eq!(
            codes(
                database,
                by_code(
                    Entry::POINTS
                        .eq(100)
                        .and(Entry::NICKNAME.eq("red team".to_owned()))
                )
            )
            .await,
            ["a1", "b1"],
            "{system:?}"
        );
        // Nothing to write: the count of the rows the filter selects, none changed.
        assert_eq!(
            entries
                .update_many(Filter::every_row(), EntryUpdate::default())
                .await
                .unwrap(),
            6,
            "{system:?}"
        );
        assert_eq!(
            entries
                .update_many(
                    Entry::TEAM.eq("purple"),
                    EntryUpdate {
                        points: Some(1),
                        ..Default::default()
                    }
                )
                .await
                .unwrap(),
            0,
            "{system:?}"
        );
        // Setting an optional column to NULL.
        entries
            .update_many(
                Entry::CODE.eq("a1"),
                EntryUpdate {
                    nickname: Some(None),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            codes(database, by_code(Entry::NICKNAME.is_null())).await,
            ["a1", "f1"],
            "{system:?}: b1 was renamed, a1 cleared"
        );

        assert_eq!(entries.delete_many(Entry::POINTS.eq(100)).await.unwrap(), 2);
        assert_eq!(
            entries.delete_many(Entry::TEAM.eq("purple")).await.unwrap(),
            0
        );
        assert_eq!(entries.count(Query::new()).await.unwrap(), 4, "{system:?}");

        // Inside a transaction, the same operations, undone by a rollback.
        let mut transaction = database.begin().await.unwrap();
        let mut table = transaction.table::<Entry>();
        assert_eq!(
            table
                .update_many(
                    Entry::ACTIVE.eq(true),
                    EntryUpdate {
                        points: Some(0),
                        ..Default::default()
                    }
                )
                .await
                .unwrap(),
            3,
            "{system:?}"
        );
        assert_eq!(
            table.count(Query::from(Entry::POINTS.eq(0))).await.unwrap(),
            3
        );
        assert!(
            table
                .exists(Query::from(Entry::POINTS.eq(0)))
                .await
                .unwrap()
        );
        assert_eq!(
            table
                .find_unique(Entry::by_code("c1"))
                .await
                .unwrap()
                .map(|entry| entry.points),
            Some(0)
        );
        assert_eq!(table.delete_many(Filter::every_row()).await.unwrap(), 4);
        assert_eq!(table.count(Query::new()).await.unwrap(), 0);
        transaction.rollback().await.unwrap();
        assert_eq!(entries.count(Query::new()).await.unwrap(), 4, "{system:?}");
        assert_eq!(
            codes(database, by_code(Entry::POINTS.eq(0))).await,
            Vec::<String>::new(),
            "{system:?}"
        );
    }
}

#[tokio::test]
async fn long_in_lists_work_up_to_the_bound_value_limit_and_are_refused_beyond_it() {
    let (databases, _directory) = seeded_databases().await;
    for database in &databases {
        let system = database.system();
        let entries = database.table::<Entry>();
        let ten_thousand = entries
            .count(Query::from(Entry::ID.is_in(0..10_000_i64)))
            .await
            .unwrap();
        assert_eq!(ten_thousand, 6, "{system:?}");
        let at_the_limit = entries
            .find_many(Query::from(Entry::ID.is_in(0..MAX_BOUND_VALUES as i64)))
            .await
            .unwrap();
        assert_eq!(at_the_limit.len(), 6, "{system:?}");
        let beyond = entries
            .find_many(Query::from(Entry::ID.is_in(0..40_000_i64)))
            .await
            .unwrap_err();
        assert!(
            matches!(beyond, DbError::TooManyValues { count: 40_000, .. }),
            "{system:?}: {beyond}"
        );
        assert!(
            beyond.to_string().contains("split the `is_in` list"),
            "{beyond}"
        );
        // Writes check the same limit.
        let delete_beyond = entries
            .delete_many(Entry::ID.is_in(0..40_000_i64))
            .await
            .unwrap_err();
        assert!(
            matches!(delete_beyond, DbError::TooManyValues { .. }),
            "{delete_beyond}"
        );
        assert_eq!(entries.count(Query::new()).await.unwrap(), 6, "{system:?}");
    }
}
