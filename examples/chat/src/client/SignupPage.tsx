// The signup form. A minimal placeholder until the generated auth helpers exist.
export function SignupPage() {
  return <h1>Sign up</h1>;
}
