//! Vite's lines as `appc dev` shows them: proxy errors that only say the server restarted are
//! dropped ([`ProxyNoiseFilter`]), and the copies of the team's files are named by the team's
//! paths ([`team_paths_in_vite_line`]).

use appc_core::codegen::web::TEAM_FILES_DIR;
use std::path::Path;

/// Drops Vite's proxy errors that only say the server restarted. Every restart resets the
/// connections Vite proxies to it (a browser's socket, a request in flight), and Vite logs each
/// one with a Node stack trace (`[vite] ws proxy error:`, `Error: read ECONNRESET`,
/// `    at ...`); appc's own status line already says that the server restarted. Other proxy
/// errors are passed on whole.
#[derive(Default)]
pub struct ProxyNoiseFilter {
    /// A `[vite] ... proxy ... error` line, held until the next line says which error it was.
    held_header: Option<String>,
    /// Inside a dropped error: its stack lines are dropped too.
    dropping_stack: bool,
}

impl ProxyNoiseFilter {
    /// The lines to print for `line` (none, the line itself, or a held line before it).
    pub fn filter(&mut self, line: String) -> Vec<String> {
        if self.dropping_stack {
            if line.trim_start().starts_with("at ") {
                return Vec::new();
            }
            self.dropping_stack = false;
        }
        if let Some(header) = self.held_header.take() {
            let restart_noise = line.starts_with("Error: ")
                && [
                    "ECONNRESET",
                    "ECONNREFUSED",
                    "EPIPE",
                    "socket hang up",
                    "ended by the other party",
                ]
                .iter()
                .any(|error| line.contains(error));
            if restart_noise {
                self.dropping_stack = true;
                return Vec::new();
            }
            let mut lines = vec![header];
            lines.extend(self.filter(line));
            return lines;
        }
        if line.contains("[vite]") && line.contains("proxy") && line.contains("error") {
            self.held_header = Some(line);
            return Vec::new();
        }
        vec![line]
    }
}

/// Vite names the copies of the team's files by absolute path in errors
/// (`/p/.appc/out/web/src/ext-src/client/MainPage.tsx:4:3`) and by URL in hot-reload lines
/// (`/src/ext-src/client/MainPage.tsx`); both become the team's path (`src/client/MainPage.tsx`).
pub fn team_paths_in_vite_line(line: &str, web_dir: &Path) -> String {
    let copies = format!("{TEAM_FILES_DIR}/");
    line.replace(&format!("{}/{copies}", web_dir.display()), "src/")
        .replace(&format!("/{copies}"), "src/")
        .replace(&copies, "src/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_errors_of_a_restart_are_dropped_and_others_kept() {
        let mut filter = ProxyNoiseFilter::default();
        let mut printed = Vec::new();
        for line in [
            "6:03:38 AM [vite] ws proxy error:",
            "Error: read ECONNRESET",
            "    at TCP.onStreamRead (node:internal/stream_base_commons:218:20)",
            "6:03:38 AM [vite] ws proxy socket error:",
            "Error: write EPIPE",
            "    at afterWriteDispatched (node:internal/stream_base_commons:161:15)",
            "6:03:39 AM [vite] (client) hmr update /src/ext-src/client/MainPage.tsx",
            "6:03:40 AM [vite] http proxy error: /auth/me",
            "Error: self-signed certificate",
            "    at TLSSocket.onConnectSecure (node:_tls_wrap:1677:34)",
        ] {
            printed.extend(filter.filter(line.to_owned()));
        }
        assert_eq!(
            printed,
            vec![
                "6:03:39 AM [vite] (client) hmr update /src/ext-src/client/MainPage.tsx",
                "6:03:40 AM [vite] http proxy error: /auth/me",
                "Error: self-signed certificate",
                "    at TLSSocket.onConnectSecure (node:_tls_wrap:1677:34)",
            ]
        );
    }

    #[test]
    fn vite_lines_name_the_team_files() {
        let web_dir = Path::new("/p/.appc/out/web");
        assert_eq!(
            team_paths_in_vite_line(
                "5:53:26 AM [vite] (client) hmr update /src/ext-src/client/MainPage.tsx",
                web_dir
            ),
            "5:53:26 AM [vite] (client) hmr update src/client/MainPage.tsx"
        );
        assert_eq!(
            team_paths_in_vite_line(
                "[plugin:vite:esbuild] /p/.appc/out/web/src/ext-src/client/MainPage.tsx:4:3: ERROR",
                web_dir
            ),
            "[plugin:vite:esbuild] src/client/MainPage.tsx:4:3: ERROR"
        );
    }
}
