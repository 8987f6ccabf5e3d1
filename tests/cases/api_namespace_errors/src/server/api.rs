pub fn middleware() {}
pub async fn async_middleware() {}
