import { useState } from "preact/hooks";
import { HTTPError, Session, logIn, saveLogin } from "./api";
import { navigate } from "./nav";

export function Login({ next, session, onLogin }: { next: string; session?: Session; onLogin: () => void }) {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const bearer = session?.auth === "bearer";
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      if (bearer) {
        saveLogin({ user: "token", header: "Bearer " + password.trim() });
      } else {
        saveLogin(await logIn(user, password));
      }
      onLogin();
      navigate(next.startsWith("/") && !next.startsWith("//") ? next : "/", true);
    } catch (err) {
      saveLogin(null);
      setError(
        err instanceof HTTPError && err.status === 401
          ? "Wrong user name or password."
          : err instanceof HTTPError && err.status === 429
            ? "Too many failed logins; wait a moment."
            : "Login failed: " + (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  if (session?.auth === "none") return <p>This server has no authentication: everything is readable.</p>;
  return (
    <form class="login" method="post" onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">Log in</h1>
      {!bearer && (
        <>
          <label for="user">User name</label>
          <input id="user" name="username" autoComplete="username" required autoFocus value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
        </>
      )}
      <label for="password">{bearer ? "Token from your token service" : "Password"}</label>
      <input
        id="password"
        name="password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
      />
      <button type="submit" disabled={busy}>
        {busy ? "Logging in…" : "Log in"}
      </button>
      <p class="problem" role="alert">
        {error}
      </p>
      <p class="help">
        The login lasts while this tab is open, until its token expires; the password itself is not kept.
      </p>
    </form>
  );
}
