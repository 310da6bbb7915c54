// The /api/v1 client: every call carries the session's credentials, and
// fails with an HTTPError the pages can tell apart (401: log in).

export const context: string =
  document.querySelector('meta[name="chartd-context"]')?.getAttribute("content") ?? "";

export class HTTPError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

// A login is a token from chartd's token endpoint (chartd's own users),
// or, for ChartMuseum's single basic-auth user or an external token
// service, the header itself. It lives in sessionStorage: gone with the tab.
export type Login = { user: string; header: string; expires?: number };

const key = "chartd.login";

export function currentLogin(): Login | null {
  try {
    const l = JSON.parse(sessionStorage.getItem(key) ?? "null") as Login | null;
    if (l && l.expires && l.expires < Date.now()) {
      sessionStorage.removeItem(key);
      return null;
    }
    return l;
  } catch {
    return null;
  }
}

export function saveLogin(l: Login | null) {
  if (l) sessionStorage.setItem(key, JSON.stringify(l));
  else sessionStorage.removeItem(key);
}

type Params = Record<string, string | number | undefined>;

export function query(params: Params = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}

export async function request(path: string, init: RequestInit = {}, header?: string): Promise<Response> {
  const h = new Headers(init.headers);
  const auth = header ?? currentLogin()?.header;
  if (auth) h.set("Authorization", auth);
  // No cookies are used, and "omit" also keeps the browser from answering a
  // 401's Basic challenge with its own password dialog.
  const res = await fetch(context + path, { ...init, headers: h, credentials: "omit" });
  if (!res.ok) {
    let msg = res.statusText;
    try {
      const b = await res.json();
      msg = b.error ?? b.errors?.[0]?.message ?? msg;
    } catch {
      /* not JSON */
    }
    throw new HTTPError(res.status, msg);
  }
  return res;
}

export async function api<T>(path: string, params?: Params, init?: RequestInit): Promise<T> {
  const res = await request("/api/v1" + path + query(params), init);
  return (await res.json()) as T;
}

// --- the API's shapes (server/openapi.yaml) ---

export type Maintainer = { name: string; email?: string; url?: string };
export type Dependency = { name: string; version?: string; repository?: string; condition?: string; alias?: string };
export type Provenance = { signed: boolean; verified: boolean; signer?: string; fingerprint?: string; serverSigned?: boolean };
export type Version = {
  name: string;
  version: string;
  appVersion?: string;
  description?: string;
  home?: string;
  icon?: string;
  keywords?: string[];
  sources?: string[];
  maintainers?: Maintainer[];
  dependencies?: Dependency[];
  deprecated?: boolean;
  created: string;
  digest: string;
  urls: string[];
  provenance?: Provenance;
};
export type VersionDetails = Version & {
  repository: string;
  size: number;
  oci: string;
  repoURL: string;
  download: string;
  readme: string;
  values: string;
  valuesSchema?: string;
};
export type ChartSummary = { repository: string; tenant: string; name: string; versionCount: number; latest: Version };
export type ChartPage = { charts: ChartSummary[]; next: number | null };
export type VersionPage = { repository: string; name: string; versions: Version[]; total: number; next: number | null };
export type Repository = {
  repository: string;
  tenant: string;
  url: string;
  oci: string;
  charts: number;
  versions: number;
  logicalSize: number;
  recentPushes: { name: string; version: string; created: string }[];
  storage?: { logicalBytes: number; storedBytes: number; dedupRatio: number };
};
export type Session = {
  auth: "none" | "users" | "basic" | "bearer";
  anonymousRead: boolean;
  tokenEndpoint?: string;
  user?: string;
  authenticated: boolean;
  admin: boolean;
  readScopes?: string[];
};

// logIn checks the credentials and, with chartd's own users, trades them
// for one token that reads every tenant the user may read: the password
// is checked twice here and never stored.
export async function logIn(user: string, password: string): Promise<Login> {
  const basic = "Basic " + btoa(unescape(encodeURIComponent(user + ":" + password)));
  const s = (await (await request("/api/v1/session", {}, basic)).json()) as Session;
  if (s.auth !== "users" || !s.tokenEndpoint) return { user, header: basic };
  const scopes = (s.readScopes ?? []).map((sc) => ["scope", sc]);
  const q = new URLSearchParams([["service", "chartd"], ...scopes]);
  // The token endpoint is the registry's: it does not move under a context path.
  const res = await fetch(s.tokenEndpoint + "?" + q.toString(), { headers: { Authorization: basic }, credentials: "omit" });
  if (!res.ok) throw new HTTPError(res.status, "the token endpoint refused the login");
  const t = await res.json();
  return { user, header: "Bearer " + t.token, expires: Date.now() + (t.expires_in ?? 300) * 1000 - 5000 };
}
