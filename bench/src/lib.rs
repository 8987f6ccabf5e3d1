//! Benchmark tooling for appc servers (issue #8): a load generator that speaks Socket.IO v5 over
//! Engine.IO v4 WebSocket transport itself, the scenarios it runs, the servers it compares (the
//! appc server, a Node.js socket.io anchor and a raw-WebSocket limit) and the report it prints.
//!
//! The binaries are thin: `appc-bench` (the load generator and runner), `standin-server` (the
//! hand-written stand-in for the generated appc server) and `raw-limit-server`.

pub mod client;
pub mod compare;
pub mod dev_loop;
pub mod jwt;
pub mod live;
pub mod operations;
pub mod payload;
pub mod processes;
pub mod protocol;
pub mod render;
pub mod scenarios;
pub mod servers;
pub mod system;
