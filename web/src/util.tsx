import { useEffect, useState } from "preact/hooks";
import { HTTPError, currentLogin } from "./api";
import { Link, base } from "./nav";

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ["KiB", "MiB", "GiB", "TiB"];
  let i = -1;
  do {
    n /= 1024;
    i++;
  } while (n >= 1024 && i < u.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${u[i]}`;
}

export function date(s: string): string {
  const d = new Date(s);
  return isNaN(d.getTime()) ? s : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export type Loaded<T> = { data?: T; error?: unknown; loading: boolean };

// useLoad runs load whenever deps change, and drops the answers of
// superseded runs (a search typed quickly answers out of order).
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ loading: true });
  useEffect(() => {
    const ac = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    load(ac.signal).then(
      (data) => !ac.signal.aborted && setState({ data, loading: false }),
      (error) => !ac.signal.aborted && setState({ error, loading: false }),
    );
    return () => ac.abort();
  }, deps);
  return state;
}

export function Problem({ error }: { error: unknown }) {
  if (error instanceof HTTPError && error.status === 401) {
    const next = encodeURIComponent(location.pathname + location.search);
    return (
      <p class="problem" role="alert">
        {currentLogin() ? "Your login does not reach this, or it has expired. " : "This needs a login. "}
        <Link href={`${base}/login?next=${next}`}>Log in</Link>
      </p>
    );
  }
  if (error instanceof HTTPError && error.status === 404) {
    return <p class="problem" role="alert">Not found: {error.message}</p>;
  }
  return (
    <p class="problem" role="alert">
      Something went wrong: {String((error as Error)?.message ?? error)}
    </p>
  );
}

// markReady tells a test or a benchmark that a page has rendered its data.
export function markReady(page: string) {
  if (document.body.dataset.ready === page) return;
  document.body.dataset.ready = page;
  performance.mark("chartd:" + page);
}
