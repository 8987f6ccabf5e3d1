//! Where a project lives: finding its spec from a command-line path ([`Project::locate`]), the
//! layout of `.appc/`, and [`absolute`] paths for the processes appc starts elsewhere.

use anyhow::bail;
use std::path::{Path, PathBuf};

/// Where a project's spec, generated code and build output live.
#[derive(Debug, Clone)]
pub struct Project {
    /// The spec file (`main.wasp`, or the file named on the command line).
    pub spec_path: PathBuf,
    /// The folder holding the spec and the team's `src/`.
    pub root: PathBuf,
    /// `<root>/.appc`: generated code, cargo's target folder, the built server.
    pub appc_dir: PathBuf,
}

impl Project {
    /// The project of a spec file, or of a folder containing `main.wasp`.
    pub fn locate(path: &Path) -> anyhow::Result<Project> {
        let spec_path = locate_spec(path)?;
        let root = spec_path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let appc_dir = root.join(".appc");
        Ok(Project {
            spec_path,
            root,
            appc_dir,
        })
    }

    /// Where the built server binary is placed.
    pub fn server_binary(&self) -> PathBuf {
        self.appc_dir.join("build").join("server")
    }
}

/// A folder means its `main.wasp`; a file is taken as it is.
pub fn locate_spec(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_dir() {
        let spec_path = path.join("main.wasp");
        if !spec_path.is_file() {
            bail!(
                "no `main.wasp` in `{}`; pass a spec file or a project folder that contains one",
                path.display()
            );
        }
        return Ok(spec_path);
    }
    if !path.exists() {
        bail!(
            "`{}` does not exist; pass a spec file or a project folder",
            path.display()
        );
    }
    Ok(path.to_path_buf())
}

/// `path` made absolute against the current folder, or `path` itself when that fails: for
/// processes that run in another folder and for comparing with the watcher's absolute paths.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
