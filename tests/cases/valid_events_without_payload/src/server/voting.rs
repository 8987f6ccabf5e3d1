pub async fn voting_socket() {}
