//! The command line as clap sees it: the commands, their arguments and their help texts.
//!
//! Plain data: every other module of the CLI may read these types, and this one imports none of
//! them.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// appc compiles one Wasp spec (`main.wasp`) and the team's code into a fullstack app: an axum +
/// Socket.IO server in Rust and a typed TypeScript/React client.
#[derive(Debug, Parser)]
#[command(name = "appc", version, about, long_about = None)]
#[command(
    after_help = "Exit status: 0 success, 1 problems in the spec or the team's code, 2 usage or I/O errors."
)]
pub struct Cli {
    /// When to colour diagnostics: `auto` colours only a terminal and honours NO_COLOR
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec and report every problem, without generating anything
    #[command(
        long_about = "Check a spec and report every problem, without generating anything.\n\n\
            Parses the spec, then (unless --syntax-only) analyzes it: declarations and their fields, \
            references between them, entity schemas, event types and the team's imported files. \
            All problems are reported in one run.",
        after_help = "Examples:\n  appc check                       check ./main.wasp\n  \
            appc check examples/chat         check examples/chat/main.wasp\n  \
            appc check --syntax-only x.wasp  parse any Wasp file, no semantic checks\n  \
            appc check --format json         one JSON object per diagnostic on stdout\n  \
            appc check --emit ir > ir.json   print the resolved app as JSON\n\n\
            Exit status: 0 no errors (warnings allowed), 1 errors in the spec, 2 usage or I/O errors."
    )]
    Check(CheckArgs),

    /// Check a spec, generate the server and the web client, and build them into `.appc/build/`
    #[command(
        long_about = "Check a spec, generate the server and the web client, and build them into `.appc/build/`.\n\n\
            Generated code goes to `<project>/.appc/out/` (only changed files are rewritten), cargo \
            builds in `<project>/.appc/target/` (or CARGO_TARGET_DIR when set), and the binary is \
            copied to `<project>/.appc/build/server`. Compiler errors in the team's Rust files are \
            shown with their paths in the project.\n\n\
            When the spec has pages, the web client is generated into `<project>/.appc/out/web/`, \
            its packages are installed with npm (only when they changed), it is type-checked with \
            tsc and bundled with Vite into `<project>/.appc/build/web/`, which the binary serves. \
            This needs Node.js and npm on PATH.",
        after_help = "Examples:\n  appc build                 release build of ./main.wasp\n  \
            appc build examples/chat   build another project\n  \
            appc build --debug         faster dev-profile build while iterating\n\n\
            The server reads PORT, HOST, DATABASE_URL, JWT_SECRET (required in release builds) and CORS_ORIGINS.\n\n\
            Exit status: 0 built, 1 errors in the spec or in the team's code, 2 usage or I/O errors."
    )]
    Build(BuildArgs),

    /// Build and serve the app, then rebuild and restart it on every save
    #[command(
        long_about = "Build and serve the app, then rebuild and restart it on every save.\n\n\
            Checks the spec, generates and compiles the server (debug profile, in \
            `<project>/.appc/target` unless CARGO_TARGET_DIR is set) and starts it. When the spec has \
            pages, the Vite dev server listens on the port and proxies /auth, /api and /socket.io \
            to the server on an internal port; a save in src/client/ is hot-reloaded without \
            rebuilding the server. Then it watches `main.wasp` and `src/`: a save re-checks, regenerates what changed, rebuilds and \
            restarts the server. Several saves in quick succession give one rebuild, and a save \
            during a compile cancels it and starts over with the newer files. tsc type-checks the \
            pages in the background after every build and client save; its errors are printed but \
            do not stop the pages from being served. Errors in the \
            spec or the team's code are printed and the last good server keeps running. Ctrl-C \
            stops everything appc started.",
        after_help = "Examples:\n  appc dev                   serve ./main.wasp on http://127.0.0.1:3000\n  \
            appc dev --port 8080       another port (PORT works too)\n  \
            appc dev examples/chat     another project\n\n\
            Exit status: 2 when the port is taken or the project cannot be read; otherwise it runs until stopped."
    )]
    Dev(DevArgs),

    /// Create a project folder from a template, ready for `appc dev`
    #[command(
        after_help = "Examples:\n  appc new my-chat                     the chat app (auth, stored messages, pages)\n  \
            appc new hello --template minimal    one page and one socket event\n\n\
            The app's name in main.wasp is derived from the folder's name (my-chat -> MyChat).\n\n\
            Exit status: 0 created, 2 when the folder exists and is not empty or the name is not allowed."
    )]
    New(NewArgs),

    /// Work with the app's database
    #[command(subcommand)]
    Db(DbCommand),
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Build the project (debug) and run one of the spec's `db.seeds` on its database
    #[command(
        long_about = "Build the project (debug) and run one of the spec's `db.seeds` on its database.\n\n\
            Checks and builds the project as `appc build --debug` does, then runs the server binary \
            as `server seed NAME` in the project folder: it creates or updates the database schema, \
            awaits the seed `pub async fn NAME(ctx: crate::app::server::ServerContext)` (every entity, \
            the database, auth to create users with passwords, the configuration), prints what \
            ran and exits. The database is the server's: DATABASE_URL, or `.appc/app.db` by \
            default (the one `appc dev` serves).",
        after_help = "Examples:\n  appc db seed                         the only seed of ./main.wasp\n  \
            appc db seed --name seed_dev_data    one of several seeds\n  \
            DATABASE_URL=postgres://... appc db seed examples/chat\n\n\
            Exit status: 0 seeded, 1 errors in the spec, in the team's code or returned by the seed, 2 usage or I/O errors (no such seed, several seeds and no --name)."
    )]
    Seed(SeedArgs),

    /// Write a migration for the changes of the spec's entities, then apply the pending migrations
    #[command(
        long_about = "Write a migration for the changes of the spec's entities, then apply the pending migrations.\n\n\
            Compares the entities of the spec with the schema after the last migration \
            (`migrations/*/schema.json`, or an empty database before the first), prints the \
            changes and writes them as a new folder `migrations/<UTC timestamp>_<name>/` holding \
            `sqlite.sql`, `postgresql.sql` (review and commit both) and `schema.json`. Then it builds \
            the project (debug) and runs `server migrate`, which applies every pending migration \
            to the database the server would use here: DATABASE_URL, or `.appc/app.db` (the one \
            `appc dev` serves). With no change it writes nothing and still applies what is pending.\n\n\
            A change that drops data (a removed field or entity, a narrowed type, a field made \
            required without a default) is refused with what it would drop unless \
            --allow-destructive is given. A field or entity that was renamed looks like a drop and \
            an add: say so with --rename or --rename-table (or keep the database name with \
            @map/@@map) and the data is kept. --create-only writes the migration without applying \
            it, so that the team can edit its SQL first (a data step, say); the next \
            `appc db migrate` applies it.\n\n\
            A server applies pending migrations at start-up, each in its own transaction, under a \
            lock; it refuses to start on a database that applied a migration it does not know or \
            a different version of one. In production (`APPC_ENV=production`, release builds) it \
            never changes the schema otherwise; `appc dev` also adds what no migration covers yet, \
            and says so.",
        after_help = "Examples:\n  appc db migrate --name init                   the first migration\n  \
            appc db migrate --name add_room               after adding a field\n  \
            appc db migrate --rename Message.text=body    a field renamed from `text` to `body`\n  \
            appc db migrate --rename-table Note=Memo      an entity renamed\n  \
            appc db migrate --allow-destructive           drop a removed field's column\n  \
            appc db migrate --create-only                 write only; edit, then apply with `appc db migrate`\n\n\
            Exit status: 0 written and applied (or nothing to do), 1 errors in the spec or the team's code, a destructive change without --allow-destructive, or a migration that failed, 2 usage or I/O errors."
    )]
    Migrate(MigrateArgs),

    /// List the applied and pending migrations of the database, and any problem
    #[command(
        long_about = "List the applied and pending migrations of the database, and any problem.\n\n\
            Says whether the spec's entities differ from the last migration (then run \
            `appc db migrate`), builds the project (debug) and runs `server migrate status` on the \
            database the server would use here (DATABASE_URL, or `.appc/app.db`): the migrations \
            it applied, with when, those still pending, and problems: a database ahead of this \
            project (it applied a migration the project does not have) or diverged from it (an \
            applied migration's SQL was changed afterwards), which a server refuses to start on.",
        after_help = "Examples:\n  appc db status\n  DATABASE_URL=postgres://... appc db status examples/chat\n\n\
            Exit status: 0 no problem (pending migrations are not a problem), 1 errors in the spec or the team's code, or a database ahead of or diverged from the migrations, 2 usage or I/O errors."
    )]
    Status(StatusArgs),

    /// Start the development database over: drop every table, apply every migration again
    #[command(
        long_about = "Start the development database over: drop every table, apply every migration again.\n\n\
            For a development database that no longer fits the migrations (`appc dev` changed it \
            by itself, a migration was edited or removed before it was committed, test data got in \
            the way). Builds the project (debug) and runs `server migrate reset` on the database \
            the server would use here (DATABASE_URL, or `.appc/app.db`, the one `appc dev` \
            serves): it drops the app's tables with all their rows and the migration history \
            `_appc_migrations`, then applies every migration of `migrations/` from the first (in \
            development, it also adds what no migration covers yet, as `appc dev` does). With \
            --seed NAME it then runs that seed of `db.seeds`, as `appc db seed --name NAME`.\n\n\
            On SQLite every table of the file is dropped; on PostgreSQL only the tables of the \
            connection's current schema (usually `public`) that the connected role owns: other \
            schemas, other roles' tables and the database itself are left alone.\n\n\
            The data is gone for good, so on a terminal it asks first; without a terminal (a \
            script, CI) it refuses unless --yes is given. It always refuses when \
            APPC_ENV=production is set, and the server refuses a reset in production mode too.",
        after_help = "Examples:\n  appc db reset                             ask, then reset .appc/app.db\n  \
            appc db reset --yes --seed seed_dev_data   reset without asking, then seed\n  \
            DATABASE_URL=postgres://... appc db reset --yes\n\n\
            Exit status: 0 reset (and seeded), 1 errors in the spec or the team's code, a migration or the seed that failed, 2 usage or I/O errors (no confirmation, APPC_ENV=production, no such seed)."
    )]
    Reset(ResetArgs),
}

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// A spec file, or a project folder containing `main.wasp`
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Reset without asking (needed when there is no terminal to ask on)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// After the migrations, run this seed of `db.seeds`
    #[arg(long, value_name = "NAME")]
    pub seed: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// A spec file, or a project folder containing `main.wasp`
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// The migration's name, in snake_case (default: `init` for the first, else `schema_change`)
    #[arg(long)]
    pub name: Option<String>,

    /// Write the migration without applying it, to edit its SQL first
    #[arg(long)]
    pub create_only: bool,

    /// Allow changes that drop data (they are listed first)
    #[arg(long)]
    pub allow_destructive: bool,

    /// A renamed field, as `Entity.old=new` (SQL names: a field's @map name when it has one)
    #[arg(long = "rename", value_name = "ENTITY.OLD=NEW")]
    pub renames: Vec<String>,

    /// A renamed entity, as `Old=New` (SQL names: an entity's @@map name when it has one)
    #[arg(long = "rename-table", value_name = "OLD=NEW")]
    pub table_renames: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// A spec file, or a project folder containing `main.wasp`
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// A spec file, or a project folder containing `main.wasp`
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// The seed to run: a function listed in `db.seeds` (needed when there are several)
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// A spec file, or a project folder containing `main.wasp`
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// The port of the one URL to open (default: PORT from the environment, else 3000)
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// The folder to create; its name (ASCII letters, digits, `-`, `_`) becomes the app's name
    pub name: PathBuf,

    /// What the new app starts from
    #[arg(long, value_enum, default_value_t = Template::Chat)]
    pub template: Template,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// The chat example: sign-up and login, stored messages, a signed-in-only namespace, three pages
    Chat,
    /// One page and one socket event
    Minimal,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// A spec file, or a project folder containing `main.wasp`
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Compile with cargo's dev profile (faster to build, slower to run) instead of release
    #[arg(long)]
    pub debug: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A spec file, or a project folder containing `main.wasp`
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Only parse the file (any Wasp file); skip semantic analysis
    #[arg(long)]
    pub syntax_only: bool,

    /// How to print diagnostics: `human` (rustc-style, on stderr) or `json` (one object per line,
    /// on stdout; on stderr when --emit also writes to stdout)
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print an intermediate result to stdout when the spec has no errors: `ir` is the resolved app as JSON
    #[arg(long, value_enum, conflicts_with = "syntax_only")]
    pub emit: Option<Emit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    Ir,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
