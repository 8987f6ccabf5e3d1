pub async fn get_cards() {}
