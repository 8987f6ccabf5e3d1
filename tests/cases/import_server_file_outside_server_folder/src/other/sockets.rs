pub async fn web_socket() {}
