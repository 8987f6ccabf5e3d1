// The frame every page of the chat shares: a header with the app's title and who is using it
// (a user's name, or "anonymous" with links to log in and sign up), then the page itself.
// It imports the one stylesheet of the app, so every page that uses the layout is styled.
import type { ReactNode } from "react";
import { Link } from "@appc/router";
import { logout, useAuth } from "@appc/auth";
import "./chat.css";

export function Layout({ children }: { children: ReactNode }) {
  return (
    <div className="app">
      <header className="app-header">
        <Link to="/" className="app-title">
          Chat
        </Link>
        <CurrentUser />
      </header>
      <main className="app-main">{children}</main>
    </div>
  );
}

function CurrentUser() {
  const { user, isLoading } = useAuth();
  // While the stored token is being checked, showing "anonymous" would flash the wrong state.
  if (isLoading) {
    return <div className="account" aria-busy="true" />;
  }
  if (user === null) {
    return (
      <nav className="account" aria-label="Account">
        <span className="account-name account-name--anonymous" data-testid="current-user">
          anonymous
        </span>
        <Link to="/login" className="button button--quiet">
          Log in
        </Link>
        <Link to="/signup" className="button">
          Sign up
        </Link>
      </nav>
    );
  }
  return (
    <nav className="account" aria-label="Account">
      <span className="account-label">Signed in as</span>
      <span className="account-name" data-testid="current-user">
        {user.username}
      </span>
      <button type="button" className="button button--quiet" onClick={() => logout()}>
        Log out
      </button>
    </nav>
  );
}
