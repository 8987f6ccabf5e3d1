// The app's one page: a text box whose text the server sends back to every open page, upper-cased.
import { useState } from "react";
import { useSocket, useSocketListener } from "@appc/webSocket";

export function MainPage() {
  const { socket, status } = useSocket();
  const [text, setText] = useState("");
  const [echoes, setEchoes] = useState<string[]>([]);

  useSocketListener("echo", (echo) => setEchoes((previous) => [...previous, echo]));

  return (
    <main>
      <h1>Minimal</h1>
      <p>Connection: {status}</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          socket.emit("shout", text);
          setText("");
        }}
      >
        <input value={text} onChange={(event) => setText(event.target.value)} placeholder="Say something" />
        <button type="submit" disabled={text.length === 0}>
          Send
        </button>
      </form>
      <ul>
        {echoes.map((echo, index) => (
          <li key={index}>{echo}</li>
        ))}
      </ul>
    </main>
  );
}
