export function MainPage() {
  return <h1>Demo</h1>;
}
