pub async fn get_cards() {}
pub async fn get_my_tasks() {}
pub async fn get_cards_once() {}
pub async fn get_time() {}
pub async fn add_card() {}
