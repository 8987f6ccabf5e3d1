//! `appc new NAME`: creates a project folder from a template, ready for `appc dev`.
//!
//! The templates are embedded in the binary by `compiler/build.rs`: `chat` is `examples/chat`
//! exactly as the repository has it (the example the end-to-end tests run), `minimal` is
//! `templates/new/minimal`. The app's name in `main.wasp` is derived from the folder's name.

use super::args::{NewArgs, Template};
use super::step::StepError;
use super::terminal;
use anyhow::{Context, bail};
use appc_core::analysis::MemoryFiles;
use appc_core::syntax::ast::ExprKind;
use heck::ToUpperCamelCase;
use std::path::Path;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_templates.rs"));
}

/// What every new project ignores: appc's generated code and build output, and npm's packages.
const GITIGNORE: &str = ".appc/\nnode_modules/\n";

pub fn run(args: &NewArgs) -> Result<(), StepError> {
    let folder = &args.name;
    let folder_name = folder
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let app_name = app_name_for(&folder_name)?;
    refuse_non_empty_folder(folder)?;

    let (template_name, template_files) = match args.template {
        Template::Chat => ("chat", embedded::CHAT_TEMPLATE),
        Template::Minimal => ("minimal", embedded::MINIMAL_TEMPLATE),
    };
    for (relative_path, contents) in template_files {
        let contents = if *relative_path == "main.wasp" {
            rename_app(contents, &app_name, &folder_name)
        } else {
            (*contents).to_owned()
        };
        write_new_file(&folder.join(relative_path), &contents)?;
    }
    write_new_file(&folder.join(".gitignore"), GITIGNORE)?;
    write_new_file(
        &folder.join("README.md"),
        &project_readme(&folder_name, template_name),
    )?;

    terminal::line(&format!(
        "Created `{}` ({template_name} template, app `{app_name}`)",
        folder.display()
    ));
    terminal::line(&format!(
        "Next: cd {} && appc dev   (then open the URL it prints)",
        folder.display()
    ));
    Ok(())
}

/// The `app` declaration's name for a project folder: `my-chat` -> `MyChat`. Folder names are
/// kept to ASCII letters, digits, `-` and `_`, starting with a letter, so that the name works as
/// an identifier, a folder and a cargo package name alike.
pub fn app_name_for(folder_name: &str) -> anyhow::Result<String> {
    let valid = folder_name
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && folder_name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || matches!(character, '-' | '_'));
    if !valid {
        bail!(
            "`{folder_name}` cannot name an app; use ASCII letters, digits, `-` and `_`, starting with a letter (for example `my-chat`)"
        );
    }
    Ok(folder_name.to_upper_camel_case())
}

fn refuse_non_empty_folder(folder: &Path) -> anyhow::Result<()> {
    if folder.is_file() {
        bail!(
            "`{}` is a file; choose a folder name that does not exist yet",
            folder.display()
        );
    }
    if let Ok(mut entries) = std::fs::read_dir(folder)
        && entries.next().is_some()
    {
        bail!(
            "`{}` already exists and is not empty; choose another name, or empty the folder first",
            folder.display()
        );
    }
    Ok(())
}

/// Renames the template's `app` declaration to `app_name` and sets its `title` to the folder's
/// name. The spans come from the parser, so comments or strings that happen to contain the old
/// name are left alone.
fn rename_app(spec: &str, app_name: &str, title: &str) -> String {
    // Parsing needs none of the team's files.
    let compiled = appc_core::compile(
        spec.as_bytes(),
        &MemoryFiles::new(),
        appc_core::Stop::AfterParsing,
    );
    let Some(app) = compiled
        .module
        .decls
        .iter()
        .find(|decl| decl.kind.name == "app")
    else {
        return spec.to_owned();
    };
    let mut replacements = vec![(app.name.span, app_name.to_owned())];
    if let ExprKind::Dict(entries) = &app.body.kind
        && let Some(entry) = entries.iter().find(|entry| entry.key.name == "title")
    {
        replacements.push((entry.value.span, format!("{title:?}")));
    }
    // Replacing from the end keeps the earlier spans valid.
    replacements.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut renamed = spec.to_owned();
    for (span, text) in replacements {
        renamed.replace_range(span.start..span.end, &text);
    }
    renamed
}

fn write_new_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write `{}`", path.display()))
}

fn project_readme(folder_name: &str, template_name: &str) -> String {
    format!(
        "# {folder_name}\n\
         \n\
         An app built with appc, created from its `{template_name}` template. `appc --help` lists\n\
         the commands; the README of appc's source tree describes the spec and the generated code.\n\
         \n\
         ```sh\n\
         appc dev            # build, serve on http://127.0.0.1:3000 and rebuild on every save\n\
         appc dev --port 8080\n\
         appc check          # report problems in main.wasp without building\n\
         appc build          # release build: .appc/build/server (needs JWT_SECRET to run)\n\
         ```\n\
         \n\
         - `main.wasp`: the app's spec (entities, auth, socket events, pages and routes).\n\
         - `src/server/`: the Rust functions `main.wasp` imports; compiled into the generated server.\n\
         - `src/client/`: the React pages `main.wasp` imports.\n\
         - `.appc/`: generated code and build output (ignored by git).\n\
         \n\
         `appc dev` needs Rust {rust_version} or newer (cargo) and, for the pages, Node.js with npm.\n",
        rust_version = env!("CARGO_PKG_RUST_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_come_from_folder_names() {
        assert_eq!(app_name_for("my-chat").unwrap(), "MyChat");
        assert_eq!(app_name_for("todo_app2").unwrap(), "TodoApp2");
        assert_eq!(app_name_for("x").unwrap(), "X");
        for bad in ["", "1chat", "-chat", "my chat", "chät", "a.b"] {
            let error = app_name_for(bad).unwrap_err().to_string();
            assert!(
                error.contains("use ASCII letters, digits, `-` and `_`"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn renaming_touches_only_the_app_declaration() {
        let spec = "// app Chat is great\napp Chat {\n  title: \"Chat\",\n  wasp: { version: \"^0.17.0\" }\n}\n";
        assert_eq!(
            rename_app(spec, "MyChat", "my-chat"),
            "// app Chat is great\napp MyChat {\n  title: \"my-chat\",\n  wasp: { version: \"^0.17.0\" }\n}\n"
        );
    }

    #[test]
    fn both_templates_are_embedded() {
        for template in [embedded::CHAT_TEMPLATE, embedded::MINIMAL_TEMPLATE] {
            let paths: Vec<&str> = template.iter().map(|(path, _)| *path).collect();
            assert!(paths.contains(&"main.wasp"), "{paths:?}");
            assert!(
                paths.iter().any(|path| path.starts_with("src/server/")),
                "{paths:?}"
            );
            assert!(
                paths.iter().any(|path| path.starts_with("src/client/")),
                "{paths:?}"
            );
        }
        // The chat has entities, so it comes with its migrations (the minimal app has none).
        let chat: Vec<&str> = embedded::CHAT_TEMPLATE
            .iter()
            .map(|(path, _)| *path)
            .collect();
        for file in ["sqlite.sql", "postgresql.sql", "schema.json"] {
            assert!(
                chat.iter()
                    .any(|path| path.starts_with("migrations/") && path.ends_with(file)),
                "{chat:?}"
            );
        }
    }
}
