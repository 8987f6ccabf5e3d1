// The login page: a username and a password; on success the chat opens at `/`.
import { Link } from "@appc/router";
import { login } from "@appc/auth";
import { AuthForm } from "./AuthForm";

export function LoginPage() {
  return (
    <AuthForm
      title="Log in"
      submitLabel="Log in"
      passwordAutoComplete="current-password"
      submit={login}
      footer={
        <>
          New here? <Link to="/signup">Create an account</Link>
        </>
      }
    />
  );
}
