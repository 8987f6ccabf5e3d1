/// Fills the database with a few rooms.
pub async fn seed_rooms() {}
