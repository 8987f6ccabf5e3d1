// The login form. A minimal placeholder until the generated auth helpers exist.
export function LoginPage() {
  return <h1>Log in</h1>;
}
