// The echo page: an input whose text comes back upper-cased. A minimal placeholder until the
// generated client (useSocket, typed events, handshake) exists.
export function MainPage() {
  return <h1>Uppercase</h1>;
}
