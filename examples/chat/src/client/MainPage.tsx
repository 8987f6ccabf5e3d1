// The chat page: the message list, the input and the connection status. A minimal placeholder
// until the generated client (useSocket, typed events) exists.
export function MainPage() {
  return <h1>Chat</h1>;
}
