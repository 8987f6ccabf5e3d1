pub fn setup() {}

pub async fn middleware() {}
