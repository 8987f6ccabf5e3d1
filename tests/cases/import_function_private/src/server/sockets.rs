fn chat_socket() {}
