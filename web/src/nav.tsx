// Routing over the History API. Every page has its own URL under /ui/:
//   /ui/                         charts, with search (?q=)
//   /ui/charts/<repo path>/<name>[?version=]   a chart
//   /ui/repos/<repo path>        a repository ("/ui/repos/" is the root one)
//   /ui/login[?next=]
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { context } from "./api";

export const base = context + "/ui";

export type Route =
  | { page: "home"; q: string }
  | { page: "chart"; repo: string; name: string; version?: string }
  | { page: "repo"; repo: string }
  | { page: "login"; next: string }
  | { page: "missing" };

const decode = (segs: string[]) => segs.map(decodeURIComponent);

export function parse(loc: { pathname: string; search: string }): Route {
  const q = new URLSearchParams(loc.search);
  let p = loc.pathname.startsWith(base) ? loc.pathname.slice(base.length) : loc.pathname;
  p = p.replace(/^\/+/, "");
  const segs = p === "" ? [] : p.split("/");
  if (segs.length === 0) return { page: "home", q: q.get("q") ?? "" };
  if (segs[0] === "login") return { page: "login", next: q.get("next") ?? base + "/" };
  if (segs[0] === "charts" && segs.length >= 2 && segs[segs.length - 1] !== "") {
    const rest = decode(segs.slice(1));
    return { page: "chart", repo: rest.slice(0, -1).join("/"), name: rest[rest.length - 1], version: q.get("version") ?? undefined };
  }
  if (segs[0] === "repos") return { page: "repo", repo: decode(segs.slice(1).filter((s) => s !== "")).join("/") };
  return { page: "missing" };
}

const enc = (path: string) => path.split("/").filter((s) => s !== "").map(encodeURIComponent).join("/");

export function chartHref(repo: string, name: string, version?: string): string {
  const r = enc(repo);
  return `${base}/charts/${r ? r + "/" : ""}${encodeURIComponent(name)}${version ? "?version=" + encodeURIComponent(version) : ""}`;
}

export function repoHref(repo: string): string {
  return `${base}/repos/${enc(repo)}`;
}

export function navigate(href: string, replace = false) {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  dispatchEvent(new PopStateEvent("popstate"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location));
  useEffect(() => {
    const on = () => setRoute(parse(location));
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  return route;
}

// Link is an <a> that navigates in place (a real link: it opens in a new
// tab, copies and is announced as a link).
export function Link(props: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren }) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}
