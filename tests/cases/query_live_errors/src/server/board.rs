pub async fn get_cards() {}
pub async fn add_card() {}
