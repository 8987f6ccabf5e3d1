//! The planner, change kind by change kind: what it says (`changes`, `destructive`) and the SQL
//! it writes for both systems (insta snapshots hold the SQL). The SQL is run for real by the
//! `appc` crate's `migrations` test.

use super::*;
use crate::analysis::MemoryFiles;
use crate::{Stop, compile};

/// The snapshot of a spec that has only entities (and the app around them).
fn snapshot_of(entities: &str) -> SchemaSnapshot {
    let source = format!("app Demo {{\n  title: \"Demo\"\n}}\n\n{entities}");
    let compiled = compile(source.as_bytes(), &MemoryFiles::new(), Stop::AfterAnalysis);
    let spec = compiled
        .spec
        .unwrap_or_else(|| panic!("the test spec is valid: {:?}", compiled.diagnostics));
    SchemaSnapshot::from_spec(&spec)
}

fn plan(previous: &SchemaSnapshot, next: &SchemaSnapshot) -> MigrationPlan {
    plan_migration(previous, next, &PlanOptions::default())
}

fn plan_with(
    previous: &SchemaSnapshot,
    next: &SchemaSnapshot,
    renames: Vec<Rename>,
) -> MigrationPlan {
    plan_migration(
        previous,
        next,
        &PlanOptions {
            renames,
            allow_destructive: false,
        },
    )
}

/// Both files, for one snapshot.
fn both(plan: &MigrationPlan) -> String {
    format!(
        "==== sqlite.sql\n{}\n==== postgresql.sql\n{}",
        plan.sqlite, plan.postgres
    )
}

const ROOM: &str = "entity Room {=psl\n  id Int @id @default(autoincrement())\n  name String\n  messages Message[]\npsl=}\n";

fn message(fields: &str) -> String {
    format!(
        "{ROOM}\nentity Message {{=psl\n  id Int @id @default(autoincrement())\n  roomId Int\n  room Room @relation(fields: [roomId], references: [id], onDelete: Cascade)\n{fields}psl=}}\n"
    )
}

#[test]
fn an_unchanged_schema_plans_nothing() {
    let schema = snapshot_of(&message("  text String\n"));
    let plan = plan(&schema, &schema);
    assert!(plan.is_empty());
    assert!(plan.destructive.is_empty());
    assert_eq!(plan.sqlite, "-- appc migration for SQLite: no changes.\n");
    assert!(
        plan_migration(
            &SchemaSnapshot::empty(),
            &SchemaSnapshot::empty(),
            &PlanOptions::default()
        )
        .is_empty()
    );
}

#[test]
fn the_first_migration_creates_every_table_as_the_runtime_declares_it() {
    let source = "app Chat {\n  title: \"Chat\",\n  auth: {\n    userEntity: User,\n    methods: { usernameAndPassword: {} },\n    onAuthFailedRedirectTo: \"/login\"\n  }\n}\n\n\
        entity User {=psl\n  id Int @id @default(autoincrement())\n  username String @unique\n  messages Message[]\npsl=}\n\n\
        entity Message {=psl\n  id Int @id @default(autoincrement())\n  text String\n  createdAt DateTime @default(now())\n  userId Int?\n  user User? @relation(fields: [userId], references: [id])\n  @@index([createdAt])\npsl=}\n";
    let compiled = compile(source.as_bytes(), &MemoryFiles::new(), Stop::AfterAnalysis);
    let spec = compiled.spec.expect("the chat spec is valid");
    let schema = SchemaSnapshot::from_spec(&spec);
    // The runtime adds the password hash to the user table, last and nullable.
    let user = &schema.tables["User"];
    let last = user.columns.last().expect("columns");
    assert_eq!(last.name, PASSWORD_HASH_COLUMN);
    assert!(last.nullable);
    // The foreign key's index, named as the runtime names it.
    assert!(
        schema.tables["Message"]
            .indexes
            .contains_key("Message_userId_idx")
    );
    let plan = plan(&SchemaSnapshot::empty(), &schema);
    assert!(plan.destructive.is_empty());
    // `User` comes first: PostgreSQL checks the reference when `Message` is created.
    let user_at = plan
        .postgres
        .find("CREATE TABLE \"User\"")
        .expect("creates User");
    let message_at = plan
        .postgres
        .find("CREATE TABLE \"Message\"")
        .expect("creates Message");
    assert!(user_at < message_at);
    insta::assert_snapshot!("create_chat", both(&plan));
    insta::assert_snapshot!("create_chat_schema_json", schema.to_json());
}

#[test]
fn snapshots_read_back_what_they_write_and_refuse_another_version() {
    let schema = snapshot_of(&message(
        "  text String @default(\"hi\")\n  score Float @default(1.5)\n  flag Boolean @default(true)\n",
    ));
    let json = schema.to_json();
    assert_eq!(SchemaSnapshot::from_json(&json), Ok(schema.clone()));
    // Stable: the same spec always gives the same text.
    assert_eq!(json, snapshot_of(&message("  text String @default(\"hi\")\n  score Float @default(1.5)\n  flag Boolean @default(true)\n")).to_json());
    let other_version = json.replacen("\"version\": 1", "\"version\": 2", 1);
    let error = SchemaSnapshot::from_json(&other_version).expect_err("version 2 is refused");
    assert!(error.contains("version 2"), "{error}");
    assert!(SchemaSnapshot::from_json("{}").is_err());
}

#[test]
fn mapped_names_are_the_sql_names() {
    let schema = snapshot_of(
        "entity Room {=psl\n  id Int @id @default(autoincrement()) @map(\"room_id\")\n  messages Message[]\n  @@map(\"rooms\")\npsl=}\n\n\
         entity Message {=psl\n  id Int @id @default(autoincrement())\n  roomId Int @map(\"room\")\n  room Room @relation(fields: [roomId], references: [id])\n  text String @map(\"body\")\n  @@unique([roomId, text])\n  @@map(\"messages\")\npsl=}\n",
    );
    let messages = &schema.tables["messages"];
    assert_eq!(messages.entity, "Message");
    let room = messages
        .column("room")
        .expect("the mapped foreign key column");
    let key = room.foreign_key.as_ref().expect("a foreign key");
    assert_eq!(
        (key.table.as_str(), key.column.as_str()),
        ("rooms", "room_id")
    );
    assert!(messages.column("body").is_some());
    assert_eq!(
        messages.indexes["messages_room_body_key"].columns,
        vec!["room".to_owned(), "body".to_owned()]
    );
    assert!(schema.tables.contains_key("rooms"));
}

#[test]
fn index_names_match_the_runtime() {
    // The runtime's own examples and its rule for names longer than PostgreSQL keeps.
    assert_eq!(
        index_name("Message", &["roomId", "createdAt"], false),
        "Message_roomId_createdAt_idx"
    );
    assert_eq!(index_name("User", &["email"], true), "User_email_key");
    let long = index_name(
        "MembershipOfUsersInRooms",
        &[
            "aVeryLongColumnNameThatGoesOnAndOn",
            "anotherLongColumnName",
        ],
        true,
    );
    // The exact name, hash included: runtime/src/db/schema.rs pins the same literal, so that a
    // change to either copy of the rule fails a test.
    assert_eq!(
        long,
        "MembershipOfUsersInRooms_aVeryLongColumnNameThatGoesOn_441bb643"
    );
}

#[test]
fn adding_an_optional_column_is_an_alter_on_both_systems() {
    let before = snapshot_of(&message("  text String\n"));
    let after = snapshot_of(&message("  text String\n  topic String?\n"));
    let plan = plan(&before, &after);
    assert_eq!(
        plan.changes,
        vec!["add column `Message.topic` (text, optional)"]
    );
    assert!(plan.destructive.is_empty());
    assert!(
        plan.sqlite
            .contains("ALTER TABLE \"Message\" ADD COLUMN \"topic\" TEXT;")
    );
    assert!(!plan.sqlite.contains("new_Message"));
    insta::assert_snapshot!("add_column", both(&plan));
}

#[test]
fn a_column_with_now_as_default_rebuilds_on_sqlite_and_uses_the_database_clock() {
    let before = snapshot_of(&message("  text String\n"));
    let after = snapshot_of(&message(
        "  text String\n  sentAt DateTime @default(now())\n",
    ));
    let plan = plan(&before, &after);
    assert!(plan.destructive.is_empty());
    // SQLite refuses an expression default in ADD COLUMN.
    assert!(plan.sqlite.contains("CREATE TABLE \"new_Message\""));
    assert!(
        plan.sqlite
            .contains("DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))")
    );
    assert!(
        plan.postgres
            .contains("ADD COLUMN \"sentAt\" TIMESTAMPTZ NOT NULL DEFAULT now();")
    );
    insta::assert_snapshot!("add_column_now", both(&plan));
}

#[test]
fn a_required_column_without_default_is_destructive() {
    let before = snapshot_of(&message("  text String\n"));
    let after = snapshot_of(&message("  text String\n  rank Int\n"));
    let plan = plan(&before, &after);
    assert_eq!(plan.destructive.len(), 1);
    assert!(
        plan.destructive[0].contains("required without a default"),
        "{:?}",
        plan.destructive
    );
    assert!(
        plan.postgres
            .contains("-- destructive: column `Message.rank` is added as required")
    );
}

#[test]
fn a_renamed_column_keeps_its_values_only_with_the_rename_option() {
    let before = snapshot_of(&message("  text String\n"));
    let after = snapshot_of(&message("  body String\n"));
    let without = plan(&before, &after);
    assert_eq!(without.destructive.len(), 2, "{:?}", without.destructive);
    assert!(
        without
            .destructive
            .iter()
            .any(|note| note.contains("column rename `Message.text` -> `body`")),
        "{:?}",
        without.destructive
    );
    let with = plan_with(
        &before,
        &after,
        vec![Rename::Column {
            table: "Message".into(),
            from: "text".into(),
            to: "body".into(),
        }],
    );
    assert!(with.destructive.is_empty(), "{:?}", with.destructive);
    assert_eq!(
        with.changes,
        vec!["rename column `Message.text` to `body` (its values are kept)"]
    );
    assert!(
        with.sqlite
            .contains("ALTER TABLE \"Message\" RENAME COLUMN \"text\" TO \"body\";")
    );
    insta::assert_snapshot!("rename_column", both(&with));
}

#[test]
fn a_rename_that_does_not_fit_is_ignored_with_a_warning() {
    let before = snapshot_of(&message("  text String\n"));
    let after = snapshot_of(&message("  body String\n"));
    let plan = plan_with(
        &before,
        &after,
        vec![Rename::Column {
            table: "Message".into(),
            from: "txt".into(),
            to: "body".into(),
        }],
    );
    assert_eq!(plan.warnings.len(), 1);
    assert!(
        plan.warnings[0].contains("has no column `txt`"),
        "{:?}",
        plan.warnings
    );
    assert_eq!(plan.destructive.len(), 2);
}

#[test]
fn a_renamed_table_keeps_its_rows_and_its_indexes_follow_the_name() {
    let before = snapshot_of(&message("  text String\n  @@index([text])\n"));
    let after_source = message("  text String\n  @@index([text])\n").replace(
        "entity Message {=psl",
        "entity Message {=psl\n  @@map(\"messages\")",
    );
    let after = snapshot_of(&after_source);
    let without = plan(&before, &after);
    assert!(
        without
            .destructive
            .iter()
            .any(|note| note.contains("table rename `Message` -> `messages`")),
        "{:?}",
        without.destructive
    );
    let with = plan_with(
        &before,
        &after,
        vec![Rename::Table {
            from: "Message".into(),
            to: "messages".into(),
        }],
    );
    assert!(with.destructive.is_empty(), "{:?}", with.destructive);
    assert!(
        with.sqlite
            .contains("ALTER TABLE \"Message\" RENAME TO \"messages\";")
    );
    assert!(with.sqlite.contains("DROP INDEX \"Message_text_idx\";"));
    assert!(with.sqlite.contains("CREATE INDEX \"messages_text_idx\""));
    // PostgreSQL keeps constraint names through a rename; they are renamed with the table.
    assert!(
        with.postgres
            .contains("ALTER INDEX IF EXISTS \"Message_pkey\" RENAME TO \"messages_pkey\";")
    );
    assert!(
        with.postgres
            .contains("RENAME CONSTRAINT \"Message_roomId_fkey\" TO \"messages_roomId_fkey\";")
    );
    insta::assert_snapshot!("rename_table", both(&with));
}

#[test]
fn a_composite_unique_is_a_unique_index() {
    let before = snapshot_of(&message("  text String\n"));
    let after = snapshot_of(&message("  text String\n  @@unique([roomId, text])\n"));
    let plan = plan(&before, &after);
    assert!(plan.destructive.is_empty());
    // The unique index starts with the foreign key, which then needs no index of its own.
    assert!(plan.sqlite.contains("DROP INDEX \"Message_roomId_idx\";"));
    assert!(plan.sqlite.contains(
        "CREATE UNIQUE INDEX \"Message_roomId_text_key\" ON \"Message\" (\"roomId\", \"text\");"
    ));
    insta::assert_snapshot!("composite_unique", both(&plan));
}

#[test]
fn a_field_made_required_with_a_default_fills_the_nulls_first() {
    let before = snapshot_of(&message("  text String?\n"));
    let after = snapshot_of(&message("  text String @default(\"\")\n"));
    let plan = plan(&before, &after);
    assert!(plan.destructive.is_empty(), "{:?}", plan.destructive);
    assert!(plan.sqlite.contains("COALESCE(\"text\", '')"));
    let fill = plan
        .postgres
        .find("UPDATE \"Message\" SET \"text\" = '' WHERE \"text\" IS NULL;")
        .expect("fills");
    let not_null = plan
        .postgres
        .find("ALTER COLUMN \"text\" SET NOT NULL;")
        .expect("sets NOT NULL");
    assert!(fill < not_null);
    insta::assert_snapshot!("required_with_default", both(&plan));
}

#[test]
fn a_field_made_required_without_a_default_is_destructive() {
    let before = snapshot_of(&message("  text String?\n"));
    let after = snapshot_of(&message("  text String\n"));
    let plan = plan(&before, &after);
    assert_eq!(plan.destructive.len(), 1);
    assert!(plan.destructive[0].contains("becomes required without a default"));
    assert!(
        plan.sqlite
            .contains("-- destructive: column `Message.text` becomes required")
    );
}

#[test]
fn a_dropped_column_is_destructive_and_marked_in_the_files() {
    let before = snapshot_of(&message("  text String\n  topic String?\n"));
    let after = snapshot_of(&message("  text String\n"));
    let plan = plan(&before, &after);
    assert_eq!(
        plan.destructive,
        vec!["column `Message.topic` is dropped with all its values"]
    );
    assert!(plan.sqlite.contains("-- destructive: column `Message.topic` is dropped with all its values\nCREATE TABLE \"new_Message\""));
    assert!(plan.postgres.contains("-- destructive: column `Message.topic` is dropped with all its values\nALTER TABLE \"Message\" DROP COLUMN \"topic\";"));
    assert!(
        plan.sqlite
            .contains("-- Destructive changes (need --allow-destructive):")
    );
    let allowed = plan_migration(
        &before,
        &after,
        &PlanOptions {
            renames: Vec::new(),
            allow_destructive: true,
        },
    );
    assert!(
        allowed
            .sqlite
            .contains("-- Destructive changes (allowed with --allow-destructive):")
    );
    insta::assert_snapshot!("drop_column", both(&plan));
}

#[test]
fn a_dropped_table_is_destructive() {
    let before = snapshot_of(&message("  text String\n"));
    let after = snapshot_of(
        "entity Room {=psl\n  id Int @id @default(autoincrement())\n  name String\npsl=}\n",
    );
    let plan = plan(&before, &after);
    assert_eq!(
        plan.destructive,
        vec!["table `Message` (entity `Message`) is dropped with all its rows"]
    );
    assert!(plan.postgres.contains("-- destructive: table `Message` (entity `Message`) is dropped with all its rows\nDROP TABLE \"Message\";"));
}

#[test]
fn widening_a_type_keeps_the_values_and_narrowing_is_destructive() {
    let before = snapshot_of(&message("  text String\n  rank Int\n"));
    let widened = snapshot_of(&message("  text String\n  rank Float\n"));
    let plan_widening = plan(&before, &widened);
    assert!(plan_widening.destructive.is_empty());
    assert!(
        plan_widening.postgres.contains(
            "ALTER COLUMN \"rank\" TYPE DOUBLE PRECISION USING \"rank\"::DOUBLE PRECISION;"
        )
    );
    let narrowed = snapshot_of(&message("  text Int\n  rank Int\n"));
    let plan_narrowing = plan(&before, &narrowed);
    assert_eq!(plan_narrowing.destructive.len(), 1);
    assert!(plan_narrowing.sqlite.contains("CAST(\"text\" AS INTEGER)"));
    insta::assert_snapshot!("narrow_type", both(&plan_narrowing));
}

#[test]
fn defaults_uniqueness_and_foreign_keys_are_compared() {
    let before = snapshot_of(&message("  text String @default(\"a\")\n  code String\n"));
    let after = snapshot_of(
        &message("  text String @default(\"b\")\n  code String @unique\n")
            .replace("onDelete: Cascade", "onDelete: Restrict"),
    );
    let plan = plan(&before, &after);
    assert!(
        plan.changes
            .contains(&"change the default of `Message.text` from \"a\" to \"b\"".to_owned()),
        "{:?}",
        plan.changes
    );
    assert!(
        plan.changes
            .iter()
            .any(|change| change.starts_with("make `Message.code` unique"))
    );
    assert!(
        plan.changes
            .iter()
            .any(|change| change.starts_with("change the foreign key `Message.roomId`"))
    );
    assert!(
        plan.postgres
            .contains("ALTER COLUMN \"text\" SET DEFAULT 'b';")
    );
    assert!(
        plan.postgres
            .contains("ADD CONSTRAINT \"Message_code_key\" UNIQUE (\"code\");")
    );
    assert!(
        plan.postgres
            .contains("DROP CONSTRAINT IF EXISTS \"Message_roomId_fkey\";")
    );
    assert!(
        plan.postgres
            .contains("REFERENCES \"Room\"(\"id\") ON DELETE RESTRICT;")
    );
    assert!(plan.sqlite.contains("CREATE TABLE \"new_Message\""));
    insta::assert_snapshot!("defaults_unique_foreign_key", both(&plan));
}

#[test]
fn runtime_only_changes_need_no_sql() {
    let before = snapshot_of(&message("  text String\n  editedAt DateTime\n"));
    let after = snapshot_of(&message("  text String\n  editedAt DateTime @updatedAt\n"));
    let plan = plan(&before, &after);
    assert_eq!(plan.changes.len(), 1);
    assert!(!plan.sqlite.contains("new_Message"));
    assert!(!plan.postgres.contains("ALTER"));
}

#[test]
fn postgres_constraint_names_are_cut_like_postgres_cuts_them() {
    let table = "T".repeat(40);
    let column = "c".repeat(40);
    // makeObjectName: the longer part loses bytes until `table_column_key` fits in 63.
    let name = super::sql::postgres_constraint_name(&table, Some(&column), "key");
    assert_eq!(name.len(), 63);
    assert_eq!(name, format!("{}_{}_key", "T".repeat(29), "c".repeat(29)));
    assert_eq!(
        super::sql::postgres_constraint_name("Message", None, "pkey"),
        "Message_pkey"
    );
}
