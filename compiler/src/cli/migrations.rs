//! The project's `migrations/` folder on disk: one folder per migration,
//! `<UTC yyyymmddhhmmss>_<snake_name>/` holding `sqlite.sql`, `postgresql.sql` and
//! `schema.json` (the schema after it, where the next migration's diff starts). This module
//! lists and checks the folders, reads the last snapshot, and writes a new migration; planning
//! is `appc_core::migrations`, applying is the server's.

use anyhow::{Context, bail};
use appc_core::analysis::ir::AppSpec;
use appc_core::migrations::{MigrationPlan, PlanOptions, SchemaSnapshot, plan_migration};
use heck::ToSnakeCase;
use std::path::{Path, PathBuf};

/// The folder under the project root.
pub const MIGRATIONS_DIR: &str = "migrations";

/// The files of one migration folder.
pub const MIGRATION_FILES: [&str; 3] = ["sqlite.sql", "postgresql.sql", "schema.json"];

/// One migration folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationDir {
    /// The folder's name: `20260101093000_add_room`.
    pub name: String,
    /// The folder.
    pub path: PathBuf,
}

/// The migration folders of the project, oldest first; an error names a folder that is not a
/// migration (a wrong name, a missing file) and says what to do.
pub fn list(project_root: &Path) -> anyhow::Result<Vec<MigrationDir>> {
    let folder = project_root.join(MIGRATIONS_DIR);
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Ok(Vec::new());
    };
    let mut migrations = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list `{}`", folder.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_dir() {
            // A README or a .gitkeep beside the migrations is fine.
            continue;
        }
        if !is_migration_name(&name) {
            bail!(
                "`{MIGRATIONS_DIR}/{name}` is not a migration folder: its name must be a UTC timestamp and a snake_case name (`20260101093000_add_room`); rename or remove it"
            );
        }
        for file in MIGRATION_FILES {
            if !path.join(file).is_file() {
                bail!(
                    "`{MIGRATIONS_DIR}/{name}` has no `{file}`; restore it from version control (every migration holds {})",
                    MIGRATION_FILES.map(|file| format!("`{file}`")).join(", ")
                );
            }
        }
        migrations.push(MigrationDir { name, path });
    }
    migrations.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(migrations)
}

/// The schema after the last migration, or the empty schema before the first.
pub fn last_snapshot(migrations: &[MigrationDir]) -> anyhow::Result<SchemaSnapshot> {
    let Some(last) = migrations.last() else {
        return Ok(SchemaSnapshot::empty());
    };
    let path = last.path.join("schema.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    SchemaSnapshot::from_json(&text).map_err(|error| {
        anyhow::anyhow!(
            "`{MIGRATIONS_DIR}/{}/schema.json`: {error}; restore it from version control",
            last.name
        )
    })
}

/// The changes between the last migration's snapshot and the entities of `spec`, one line
/// each; empty when `migrations/` is up to date.
pub fn unmigrated_changes(project_root: &Path, spec: &AppSpec) -> anyhow::Result<Vec<String>> {
    let previous = last_snapshot(&list(project_root)?)?;
    let plan = plan_migration(
        &previous,
        &SchemaSnapshot::from_spec(spec),
        &PlanOptions::default(),
    );
    Ok(plan.changes)
}

/// Writes `plan` as a new migration folder named after `name` and the current UTC time (later
/// than the last migration's, so the order holds even within one second). Returns the folder's
/// name.
pub fn write(
    project_root: &Path,
    existing: &[MigrationDir],
    name: &str,
    plan: &MigrationPlan,
    snapshot: &SchemaSnapshot,
) -> anyhow::Result<String> {
    let snake_name = name.to_snake_case();
    if snake_name.is_empty()
        || !snake_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        bail!("`{name}` cannot name a migration; use letters, digits and `_` (`--name add_room`)");
    }
    let mut timestamp = utc_timestamp(std::time::SystemTime::now());
    if let Some(last) = existing.last() {
        let last_timestamp: u64 = last.name[..14].parse().unwrap_or(0);
        if timestamp <= last_timestamp {
            timestamp = next_second(last_timestamp);
        }
    }
    let folder_name = format!("{timestamp:014}_{snake_name}");
    let folder = project_root.join(MIGRATIONS_DIR).join(&folder_name);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create `{}`", folder.display()))?;
    for (file, contents) in [
        ("sqlite.sql", plan.sqlite.clone()),
        ("postgresql.sql", plan.postgres.clone()),
        ("schema.json", snapshot.to_json()),
    ] {
        let path = folder.join(file);
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(folder_name)
}

fn is_migration_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 15
        && bytes[..14].iter().all(u8::is_ascii_digit)
        && bytes[14] == b'_'
        && bytes[15..]
            .iter()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'_')
}

/// `time` as the number whose digits read `yyyymmddhhmmss` in UTC.
fn utc_timestamp(time: std::time::SystemTime) -> u64 {
    let seconds = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
    );
    (year as u64) * 10_000_000_000
        + month * 100_000_000
        + day * 1_000_000
        + hour * 10_000
        + minute * 100
        + second
}

/// The timestamp one second after `timestamp` (both `yyyymmddhhmmss`), through the calendar.
fn next_second(timestamp: u64) -> u64 {
    let digits = |from: u32, count: u32| timestamp / 10u64.pow(from) % 10u64.pow(count);
    let (year, month, day) = (digits(10, 4), digits(8, 2), digits(6, 2));
    let (hour, minute, second) = (digits(4, 2), digits(2, 2), digits(0, 2));
    let days = days_from_civil(year as i64, month, day);
    let seconds = days as u64 * 86_400 + hour * 3600 + minute * 60 + second + 1;
    utc_timestamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u64;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u64;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u64, day: u64) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = month as i64;
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_read_as_utc_calendar_digits() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), 19_700_101_000_000);
        // 2024-02-29T23:59:59Z, a leap day.
        let leap = UNIX_EPOCH + Duration::from_secs(1_709_251_199);
        assert_eq!(utc_timestamp(leap), 20_240_229_235_959);
        assert_eq!(next_second(20_240_229_235_959), 20_240_301_000_000);
        assert_eq!(next_second(20_261_231_235_959), 20_270_101_000_000);
    }

    #[test]
    fn migration_folders_are_checked_by_name_and_files() {
        assert!(is_migration_name("20260101093000_add_room"));
        assert!(!is_migration_name("20260101093000_"));
        assert!(!is_migration_name("2026010109300_add_room"));
        assert!(!is_migration_name("20260101093000_Add-Room"));

        let project = tempfile::tempdir().unwrap();
        assert_eq!(list(project.path()).unwrap(), []);
        let folder = project.path().join("migrations/20260101093000_init");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("sqlite.sql"), "").unwrap();
        let error = list(project.path()).unwrap_err().to_string();
        assert!(
            error.starts_with("`migrations/20260101093000_init` has no `postgresql.sql`"),
            "{error}"
        );
        std::fs::create_dir_all(project.path().join("migrations/notes")).unwrap();
        let error = list(project.path()).unwrap_err().to_string();
        assert!(
            error.contains("`migrations/notes` is not a migration folder"),
            "{error}"
        );
    }
}
