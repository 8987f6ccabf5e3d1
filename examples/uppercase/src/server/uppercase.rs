//! The uppercase echo's socket handlers: the `fn` of the app's root webSocket in `main.wasp`.
//!
//! This file is an example input for `appc check` for now; its body is written against the
//! runtime's socket API once that exists (issue #5).

/// Sets up the root namespace. It will: on connect, emit `greeting` ("Hello, <name>!") using the
/// typed `Visitor` handshake; on every `textInput`, emit `uppercase` with the text upper-cased.
pub fn uppercase_socket() {}
