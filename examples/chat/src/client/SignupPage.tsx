// The signup page: choosing a username and a password; signing up also logs in, then the chat
// opens at `/`. The hints repeat the server's rules so most mistakes are avoided up front.
import { Link } from "@appc/router";
import { signup } from "@appc/auth";
import { AuthForm } from "./AuthForm";

export function SignupPage() {
  return (
    <AuthForm
      title="Sign up"
      submitLabel="Sign up"
      passwordAutoComplete="new-password"
      hints={{
        username: "3 to 32 characters: letters, digits, _, . and -",
        password: "At least 8 characters",
      }}
      submit={signup}
      footer={
        <>
          Already have an account? <Link to="/login">Log in</Link>
        </>
      }
    />
  );
}
