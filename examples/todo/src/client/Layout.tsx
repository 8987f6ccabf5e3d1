// The frame of every page: the app's title, who is signed in with a log out button, then the
// page. It imports the app's one stylesheet.
import type { ReactNode } from "react";
import { logout, useAuth } from "@appc/auth";
import "./todo.css";

export function Layout({ children }: { children: ReactNode }) {
  const { user } = useAuth();
  return (
    <div className="app">
      <header className="app-header">
        <span className="app-title">Todo</span>
        {user === null ? null : (
          <span className="account">
            <span data-testid="current-user">{user.username}</span>
            <button type="button" className="button--quiet" onClick={() => logout()}>
              Log out
            </button>
          </span>
        )}
      </header>
      <main>{children}</main>
    </div>
  );
}
