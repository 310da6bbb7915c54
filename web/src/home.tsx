import { useEffect, useRef, useState } from "preact/hooks";
import { ChartPage, ChartSummary, api } from "./api";
import { Link, base, chartHref, navigate, repoHref } from "./nav";
import { Problem, markReady, useLoad } from "./util";

const pageSize = 20;

// moveFocus walks the result links with the arrow keys; from the search
// box, ArrowDown enters the list.
function onListKey(e: KeyboardEvent, list: HTMLElement | null) {
  if (!list || (e.key !== "ArrowDown" && e.key !== "ArrowUp")) return;
  const links = Array.from(list.querySelectorAll<HTMLAnchorElement>("a.result"));
  if (links.length === 0) return;
  const i = links.indexOf(document.activeElement as HTMLAnchorElement);
  const next = e.key === "ArrowDown" ? (i < 0 ? 0 : Math.min(i + 1, links.length - 1)) : i - 1;
  e.preventDefault();
  if (next < 0) (document.getElementById("search") as HTMLInputElement | null)?.focus();
  else links[next].focus();
}

export function ChartList({ charts, listRef }: { charts: ChartSummary[]; listRef?: preact.RefObject<HTMLUListElement> }) {
  return (
    <ul class="charts" ref={listRef} aria-label="Charts" onKeyDown={(e) => onListKey(e, listRef?.current ?? null)}>
      {charts.map((c) => (
        <li key={c.repository + "/" + c.name}>
          <Link class="result" href={chartHref(c.repository, c.name)}>
            {c.latest.icon && /^https?:/.test(c.latest.icon) ? <img src={c.latest.icon} alt="" width={32} height={32} loading="lazy" /> : <span class="noicon" aria-hidden="true" />}
            <span class="title">
              <strong>{c.name}</strong> <span class="ver">{c.latest.version}</span>
            </span>
            <span class="repo">{c.repository || "(root repository)"}</span>
            <span class="desc">{c.latest.description}</span>
            <span class="count">
              {c.versionCount} version{c.versionCount === 1 ? "" : "s"}
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

export function Home({ q }: { q: string }) {
  const [text, setText] = useState(q);
  const [query, setQuery] = useState(q);
  const [extra, setExtra] = useState<ChartSummary[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [moreError, setMoreError] = useState<unknown>();
  const list = useRef<HTMLUListElement>(null);
  // Search as you type, a moment after the last key.
  useEffect(() => {
    const t = setTimeout(() => {
      if (text !== query) {
        setQuery(text);
        navigate(base + "/" + (text ? "?q=" + encodeURIComponent(text) : ""), true);
      }
    }, 150);
    return () => clearTimeout(t);
  }, [text]);
  const first = useLoad((signal) => api<ChartPage>("/charts", { q: query || undefined, limit: pageSize }, { signal }), [query]);
  useEffect(() => {
    setExtra([]);
    setMoreError(undefined);
    setNext(first.data?.next ?? null);
    if (first.data) markReady("home");
  }, [first.data]);
  const more = async () => {
    if (next === null) return;
    try {
      const p = await api<ChartPage>("/charts", { q: query || undefined, limit: pageSize, offset: next });
      setExtra((e) => [...e, ...p.charts]);
      setNext(p.next);
    } catch (e) {
      setMoreError(e);
    }
  };
  const charts = [...(first.data?.charts ?? []), ...extra];
  return (
    <>
      <h1>Charts</h1>
      <form role="search" onSubmit={(e) => (e.preventDefault(), setQuery(text))}>
        <label for="search">Search charts</label>
        <input
          id="search"
          type="search"
          value={text}
          autoFocus
          autoComplete="off"
          placeholder="name, keyword, description, or name:… keyword:… annotation:key=value"
          aria-describedby="search-help"
          aria-controls="results"
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => onListKey(e, list.current)}
        />
        <p id="search-help" class="help">
          Results follow as you type. Arrow keys move through them; “/” comes back here.
        </p>
      </form>
      <section id="results" aria-live="polite" aria-busy={first.loading}>
        {first.error ? (
          <Problem error={first.error} />
        ) : first.data && charts.length === 0 ? (
          <p>{query ? `No chart matches “${query}”.` : "No charts you may read yet."}</p>
        ) : (
          <ChartList charts={charts} listRef={list} />
        )}
        {next !== null && (
          <button type="button" onClick={more}>
            More charts
          </button>
        )}
        {moreError && <Problem error={moreError} />}
      </section>
      <Repositories />
    </>
  );
}

function Repositories() {
  const r = useLoad(
    (signal) => api<{ repositories: { repository: string; tenant: string }[] }>("/repositories", undefined, { signal }),
    [],
  );
  if (!r.data || r.data.repositories.length === 0) return null;
  return (
    <nav aria-label="Repositories" class="repos">
      <h2>Repositories</h2>
      <ul>
        {r.data.repositories.map((x) => (
          <li key={x.repository}>
            <Link href={repoHref(x.repository)}>{x.repository || "(root repository)"}</Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
