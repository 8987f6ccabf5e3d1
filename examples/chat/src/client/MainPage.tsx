// The chat page of the Wasp websockets seed: the connection status, the messages with their
// authors, and a form to send one. Anyone may chat; the server names anonymous users `unknown`.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useAuth } from "@appc/auth";
import type { ChatMessage } from "@appc/types";
import { useSocket, useSocketListener, type ConnectionStatus } from "@appc/webSocket";
import { Layout } from "./Layout";

/** What the indicator says for each state of the connection. */
const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  disconnected: "Disconnected",
  failed: "Connection failed",
};

export function MainPage() {
  const { socket, status, refreshAuthToken } = useSocket();
  const { user } = useAuth();
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [draft, setDraft] = useState("");

  // The socket is shared by the whole app and outlives this page. When the page opens again on a
  // socket that is already connected (after a visit to the login page, say), the history went to
  // the earlier page: reconnecting asks the server for it again, as Wasp does on mount.
  useEffect(() => {
    if (socket.connected) {
      refreshAuthToken();
    }
    // Only on mount: later reconnections bring their own history.
  }, []);

  // The server sends the latest messages on every (re)connection, so the history replaces the
  // list instead of being added to it: a reconnection never shows a message twice.
  useSocketListener("chatHistory", (history: ChatMessage[]) => setMessages(history));
  useSocketListener("chatMessage", (message: ChatMessage) =>
    setMessages((previous) =>
      previous.some((known) => known.id === message.id) ? previous : [...previous, message],
    ),
  );

  const isConnected = status === "connected";
  const text = draft.trim();

  function sendMessage(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!isConnected || text === "") {
      return;
    }
    socket.emit("chatMessage", text);
    setDraft("");
  }

  return (
    <Layout>
      <section className="chat" aria-labelledby="chat-heading">
        <div className="chat-top">
          <h1 id="chat-heading">Messages</h1>
          <div className="chat-connection">
            <StatusIndicator status={status} />
            {status === "failed" || status === "disconnected" ? (
              // The client has stopped trying on its own; let the user ask for another attempt.
              <button
                type="button"
                className="button button--quiet button--small"
                onClick={refreshAuthToken}
              >
                Reconnect
              </button>
            ) : null}
          </div>
        </div>
        <MessageList messages={messages} ownUsername={user?.username ?? null} />
        <form className="composer" onSubmit={sendMessage}>
          <label htmlFor="chat-input" className="visually-hidden">
            Message
          </label>
          <input
            id="chat-input"
            data-testid="chat-input"
            type="text"
            autoComplete="off"
            maxLength={2000}
            placeholder={isConnected ? "Write a message" : "Waiting for the connection…"}
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
          />
          <button type="submit" className="button" disabled={!isConnected || text === ""}>
            Send
          </button>
        </form>
        <p className="chat-identity">
          {user === null ? (
            <>
              You are chatting anonymously, as <strong>unknown</strong>.
            </>
          ) : (
            <>
              You are chatting as <strong>{user.username}</strong>.
            </>
          )}
        </p>
      </section>
    </Layout>
  );
}

/** A coloured dot and a word for the state of the socket; `data-status` is for tests. */
function StatusIndicator({ status }: { status: ConnectionStatus }) {
  return (
    <p
      className={`status status--${status}`}
      data-testid="connection-status"
      data-status={status}
      role="status"
    >
      <span className="status-dot" aria-hidden="true" />
      {STATUS_TEXT[status]}
    </p>
  );
}

function MessageList({
  messages,
  ownUsername,
}: {
  messages: ChatMessage[];
  ownUsername: string | null;
}) {
  const listRef = useRef<HTMLOListElement>(null);

  // Keep the newest message in view, as chat applications do.
  useEffect(() => {
    const list = listRef.current;
    if (list !== null) {
      list.scrollTop = list.scrollHeight;
    }
  }, [messages]);

  if (messages.length === 0) {
    return (
      <p className="messages messages--empty" data-testid="message-list-empty">
        No messages yet. Say hello!
      </p>
    );
  }
  return (
    <ol className="messages" data-testid="message-list" ref={listRef} aria-label="Messages">
      {messages.map((message) => (
        <li
          key={message.id}
          className={message.username === ownUsername ? "message message--own" : "message"}
          data-testid="message"
        >
          <span className="message-author" data-testid="message-username">
            {message.username}
          </span>
          <span className="message-text" data-testid="message-text">
            {message.text}
          </span>
        </li>
      ))}
    </ol>
  );
}
