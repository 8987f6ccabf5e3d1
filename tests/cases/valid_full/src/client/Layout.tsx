export function Layout() { return null }
