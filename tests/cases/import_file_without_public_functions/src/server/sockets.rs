//! Nothing public here yet.

impl Foo {
    pub fn chat_socket(&self) {}
}
