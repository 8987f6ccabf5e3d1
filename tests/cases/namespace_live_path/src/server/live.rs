use crate::app::live::{Socket, SocketContext};

pub async fn live_socket(_socket: Socket, _ctx: SocketContext) {}
