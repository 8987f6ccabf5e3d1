// The username-and-password form shared by the login and signup pages: labelled fields, the
// server's refusal shown inline (from `AuthError`), and a redirect to the chat on success.
import { useState, type FormEvent, type ReactNode } from "react";
import { useNavigate } from "react-router";
import { AuthError, type User } from "@appc/auth";
import { routes } from "@appc/router";
import { Layout } from "./Layout";

export interface Credentials {
  username: string;
  password: string;
}

export function AuthForm({
  title,
  submitLabel,
  passwordAutoComplete,
  hints,
  submit,
  footer,
}: {
  title: string;
  submitLabel: string;
  /** `current-password` for logging in, `new-password` for signing up (password managers care). */
  passwordAutoComplete: "current-password" | "new-password";
  /** The rules the fields must follow, shown under them; only signup has any. */
  hints?: { username: string; password: string };
  submit: (credentials: Credentials) => Promise<User>;
  footer: ReactNode;
}) {
  const navigate = useNavigate();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [isSubmitting, setIsSubmitting] = useState(false);

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    setIsSubmitting(true);
    try {
      await submit({ username, password });
      navigate(routes.RootRoute.to);
    } catch (caught) {
      setError(describeError(caught));
      setIsSubmitting(false);
    }
  }

  return (
    <Layout>
      <section className="auth-card" aria-labelledby="auth-heading">
        <h1 id="auth-heading">{title}</h1>
        <form className="auth-form" onSubmit={handleSubmit} noValidate>
          <div className="field">
            <label htmlFor="auth-username">Username</label>
            <input
              id="auth-username"
              name="username"
              type="text"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
              value={username}
              onChange={(event) => setUsername(event.target.value)}
              aria-describedby={hints === undefined ? undefined : "auth-username-hint"}
            />
            {hints === undefined ? null : (
              <p className="field-hint" id="auth-username-hint">
                {hints.username}
              </p>
            )}
          </div>
          <div className="field">
            <label htmlFor="auth-password">Password</label>
            <input
              id="auth-password"
              name="password"
              type="password"
              autoComplete={passwordAutoComplete}
              required
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              aria-describedby={hints === undefined ? undefined : "auth-password-hint"}
            />
            {hints === undefined ? null : (
              <p className="field-hint" id="auth-password-hint">
                {hints.password}
              </p>
            )}
          </div>
          {error === null ? null : (
            <p className="form-error" role="alert" data-testid="auth-error">
              {error}
            </p>
          )}
          <button type="submit" className="button button--wide" disabled={isSubmitting}>
            {isSubmitting ? `${submitLabel}…` : submitLabel}
          </button>
        </form>
        <p className="auth-footer">{footer}</p>
      </section>
    </Layout>
  );
}

/** The sentence shown to the user: the server's own message when it refused the credentials. */
function describeError(caught: unknown): string {
  if (caught instanceof AuthError) {
    return asSentence(caught.message);
  }
  return "The server could not be reached; check your connection and try again.";
}

/**
 * Server messages are lower-case clauses that quote names in backticks, like compiler messages;
 * a form shows them as plain sentences.
 */
function asSentence(message: string): string {
  const plain = message.replace(/`/g, "");
  return plain.charAt(0).toUpperCase() + plain.slice(1);
}
