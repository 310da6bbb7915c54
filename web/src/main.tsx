import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Session, api, currentLogin, saveLogin } from "./api";
import { Chart } from "./chart";
import { Home } from "./home";
import { Login } from "./login";
import { Link, base, navigate, useRoute } from "./nav";
import { Repo } from "./repo";

function App() {
  const route = useRoute();
  const [login, setLogin] = useState(currentLogin());
  const [session, setSession] = useState<Session>();
  useEffect(() => {
    api<Session>("/session").then(setSession, () => {
      // A stale token: forget it and ask again without one.
      saveLogin(null);
      setLogin(null);
      api<Session>("/session").then(setSession, () => undefined);
    });
  }, [login]);
  // "/" anywhere but in a field goes to the search box.
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) return;
      e.preventDefault();
      const s = document.getElementById("search");
      if (s) s.focus();
      else navigate(base + "/");
    };
    addEventListener("keydown", on);
    return () => removeEventListener("keydown", on);
  }, []);
  // A new page moves focus to its main region, as a page load would.
  useEffect(() => {
    if (route.page !== "home") document.getElementById("main")?.focus();
    else document.title = "chartd";
  }, [route]);
  const logout = () => {
    saveLogin(null);
    setLogin(null);
    navigate(base + "/");
  };
  let page;
  switch (route.page) {
    case "home":
      page = <Home q={route.q} />;
      break;
    case "chart":
      page = <Chart key={route.repo + "/" + route.name} repo={route.repo} name={route.name} version={route.version} />;
      break;
    case "repo":
      page = <Repo key={route.repo} repo={route.repo} />;
      break;
    case "login":
      page = <Login next={route.next} session={session} onLogin={() => setLogin(currentLogin())} />;
      break;
    default:
      page = <p>No such page. <Link href={base + "/"}>All charts</Link></p>;
  }
  const needsLogin = session && session.auth !== "none";
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href={base + "/"} class="brand" aria-label="chartd: all charts">
          chartd
        </Link>
        <nav aria-label="Account">
          {login ? (
            <>
              <span class="user">
                {login.user}
                {session?.admin ? " (admin)" : ""}
              </span>{" "}
              <button type="button" onClick={logout}>
                Log out
              </button>
            </>
          ) : needsLogin ? (
            <>
              {session.anonymousRead && <span class="user">Browsing anonymously</span>}{" "}
              <Link href={`${base}/login?next=${encodeURIComponent(location.pathname + location.search)}`}>Log in</Link>
            </>
          ) : null}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {/* A login or logout changes what every page may read: load afresh. */}
        <div key={login?.header ?? "anonymous"}>{page}</div>
      </main>
      <footer>
        <a href={`${base.slice(0, -3)}/api/v1/openapi.yaml`}>API (OpenAPI)</a>
      </footer>
    </>
  );
}

render(<App />, document.getElementById("app")!);
