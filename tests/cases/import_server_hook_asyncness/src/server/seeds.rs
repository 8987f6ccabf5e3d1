pub fn seed_users() {}

pub async fn seed_rooms() {}
