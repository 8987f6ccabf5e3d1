// The login and signup pages: one username-and-password form, the server's refusal shown
// inline, and the task list at `/` once signed in (signing up also logs in).
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { AuthError, login, signup, type User } from "@appc/auth";
import { Link, routes } from "@appc/router";
import { Layout } from "./Layout";

export function LoginPage() {
  return (
    <AuthForm title="Log in" submit={login}>
      New here? <Link to="/signup">Create an account</Link>
    </AuthForm>
  );
}

export function SignupPage() {
  return (
    <AuthForm title="Sign up" submit={signup}>
      Already have an account? <Link to="/login">Log in</Link>
    </AuthForm>
  );
}

function AuthForm({
  title,
  submit,
  children,
}: {
  title: string;
  submit: (credentials: { username: string; password: string }) => Promise<User>;
  children: React.ReactNode;
}) {
  const navigate = useNavigate();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    try {
      await submit({ username, password });
      navigate(routes.RootRoute.to);
    } catch (caught) {
      setError(caught instanceof AuthError ? caught.message : "the server could not be reached");
    }
  }

  return (
    <Layout>
      <h1>{title}</h1>
      <form className="auth-form" onSubmit={handleSubmit}>
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            value={username}
            onChange={(event) => setUsername(event.target.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={title === "Sign up" ? "new-password" : "current-password"}
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        {error === null ? null : (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit">{title}</button>
      </form>
      <p>{children}</p>
    </Layout>
  );
}
