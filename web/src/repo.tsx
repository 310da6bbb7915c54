import { useEffect, useRef, useState } from "preact/hooks";
import { ChartPage, ChartSummary, Repository, api } from "./api";
import { ChartList } from "./home";
import { Link, chartHref } from "./nav";
import { Problem, bytes, date, markReady, useLoad } from "./util";

export function Repo({ repo }: { repo: string }) {
  const info = useLoad((signal) => api<Repository>("/repository", { repo }, { signal }), [repo]);
  const first = useLoad((signal) => api<ChartPage>("/charts", { repo, limit: 20 }, { signal }), [repo]);
  const [extra, setExtra] = useState<ChartSummary[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const list = useRef<HTMLUListElement>(null);
  useEffect(() => {
    setExtra([]);
    setNext(first.data?.next ?? null);
  }, [first.data]);
  useEffect(() => {
    if (info.data && first.data) markReady("repo");
    if (info.data) document.title = `${info.data.repository || "root repository"} · chartd`;
  }, [info.data, first.data]);
  if (info.error) return <Problem error={info.error} />;
  if (!info.data) return <p aria-busy="true">Loading…</p>;
  const r = info.data;
  const more = async () => {
    if (next === null) return;
    const p = await api<ChartPage>("/charts", { repo, limit: 20, offset: next });
    setExtra((e) => [...e, ...p.charts]);
    setNext(p.next);
  };
  return (
    <article aria-labelledby="repo-title">
      <h1 id="repo-title">{r.repository || "(root repository)"}</h1>
      <dl class="details">
        <dt>Tenant</dt>
        <dd>{r.tenant || "(root)"}</dd>
        <dt>Repository URL</dt>
        <dd>
          <code>{r.url}</code>
        </dd>
        <dt>OCI</dt>
        <dd>
          <code>{r.oci}</code>
        </dd>
        <dt>Charts</dt>
        <dd>{r.charts}</dd>
        <dt>Versions</dt>
        <dd>{r.versions}</dd>
        <dt>Logical size</dt>
        <dd>{bytes(r.logicalSize)}</dd>
      </dl>
      {r.storage && (
        <section aria-labelledby="storage-title" class="admin">
          <h2 id="storage-title">Storage, all tenants (admin)</h2>
          <dl class="details">
            <dt>Logical bytes</dt>
            <dd>{bytes(r.storage.logicalBytes)}</dd>
            <dt>Stored bytes</dt>
            <dd>{bytes(r.storage.storedBytes)}</dd>
            <dt>Dedup ratio</dt>
            <dd>{r.storage.dedupRatio.toFixed(2)}×</dd>
          </dl>
        </section>
      )}
      <section aria-labelledby="recent-title">
        <h2 id="recent-title">Recent pushes</h2>
        {r.recentPushes.length === 0 ? (
          <p>Nothing pushed yet.</p>
        ) : (
          <ul>
            {r.recentPushes.map((p) => (
              <li key={p.name + "@" + p.version}>
                <Link href={chartHref(repo, p.name, p.version)}>
                  {p.name} {p.version}
                </Link>{" "}
                <span class="when">{date(p.created)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="repo-charts-title">
        <h2 id="repo-charts-title">Charts</h2>
        {first.error ? <Problem error={first.error} /> : <ChartList charts={[...(first.data?.charts ?? []), ...extra]} listRef={list} />}
        {next !== null && (
          <button type="button" onClick={more}>
            More charts
          </button>
        )}
      </section>
    </article>
  );
}
