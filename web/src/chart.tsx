import DOMPurify from "dompurify";
import { marked } from "marked";
import { useEffect, useMemo, useState } from "preact/hooks";
import { HTTPError, Version, VersionDetails, VersionPage, api, currentLogin } from "./api";
import { Snippet, Yaml } from "./code";
import { Link, chartHref, repoHref } from "./nav";
import { Loaded, Problem, bytes, date, markReady, useLoad } from "./util";

const versionPage = 20;

// The README is the chart author's Markdown: rendered by marked, then
// sanitised by DOMPurify, since a chart is anyone's upload.
function Readme({ text }: { text: string }) {
  const html = useMemo(() => DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true }) as string), [text]);
  return <div class="readme" dangerouslySetInnerHTML={{ __html: html }} />;
}

function repoAlias(repo: string): string {
  const last = repo.split("/").filter(Boolean).pop();
  return last ?? "chartd";
}

function Provenance({ v }: { v: Version }) {
  const p = v.provenance;
  if (!p || !p.signed) return <>Not signed</>;
  return (
    <>
      Signed{p.signer ? ` by ${p.signer}` : ""}
      {p.fingerprint ? ` (key ${p.fingerprint})` : ""}
      {p.serverSigned ? "; signed by this server" : ""}
      {p.verified ? "; verified against a key the repository trusts" : "; not verified"}
    </>
  );
}

async function download(d: VersionDetails) {
  // A login lives in the page, not in a cookie, so the archive is fetched
  // with it and handed to the browser as a file.
  const res = await fetch(d.download, { headers: { Authorization: currentLogin()?.header ?? "" }, credentials: "omit" });
  if (!res.ok) throw new HTTPError(res.status, "download refused");
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = d.download.split("/").pop() ?? "chart.tgz";
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function Versions({ repo, name, current, first }: { repo: string; name: string; current: string; first: Loaded<VersionPage> }) {
  const [extra, setExtra] = useState<Version[]>([]);
  const [next, setNext] = useState<number | null>(null);
  useEffect(() => {
    setExtra([]);
    setNext(first.data?.next ?? null);
  }, [first.data]);
  if (first.error) return <Problem error={first.error} />;
  if (!first.data) return <p aria-busy="true">Loading versions…</p>;
  const more = async () => {
    if (next === null) return;
    const p = await api<VersionPage>("/charts/" + encodeURIComponent(name), { repo, limit: versionPage, offset: next });
    setExtra((e) => [...e, ...p.versions]);
    setNext(p.next);
  };
  const all = [...first.data.versions, ...extra];
  return (
    <>
      <p>
        {first.data.total} version{first.data.total === 1 ? "" : "s"}
      </p>
      <table class="versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">App version</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {all.map((v) => (
            <tr key={v.version} aria-current={v.version === current ? "true" : undefined}>
              <td>
                <Link href={chartHref(repo, name, v.version)}>{v.version}</Link>
              </td>
              <td>{v.appVersion}</td>
              <td>{date(v.created)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && (
        <button type="button" onClick={more}>
          More versions
        </button>
      )}
    </>
  );
}

export function Chart({ repo, name, version }: { repo: string; name: string; version?: string }) {
  const d = useLoad(
    (signal) => api<VersionDetails>("/charts/" + encodeURIComponent(name) + "/" + encodeURIComponent(version ?? "latest"), { repo }, { signal }),
    [repo, name, version],
  );
  // Asked for at once with the version, not after it renders: the page
  // waits for the slower of the two, not for both in turn.
  const versions = useLoad(
    (signal) => api<VersionPage>("/charts/" + encodeURIComponent(name), { repo, limit: versionPage }, { signal }),
    [repo, name],
  );
  useEffect(() => {
    if (d.data) document.title = `${d.data.name} ${d.data.version} · chartd`;
    // The page is rendered once both its version and its versions are.
    if (d.data && versions.data) markReady("chart");
  }, [d.data, versions.data]);
  if (d.error) return <Problem error={d.error} />;
  if (!d.data) return <p aria-busy="true">Loading {name}…</p>;
  const v = d.data;
  const alias = repoAlias(repo);
  const release = "my-" + v.name;
  const repoSnippet = `helm repo add ${alias} ${v.repoURL}\nhelm install ${release} ${alias}/${v.name} --version ${v.version}`;
  const ociSnippet = `helm install ${release} ${v.oci} --version ${v.version}`;
  let schema = v.valuesSchema;
  if (schema) {
    try {
      schema = JSON.stringify(JSON.parse(schema), null, 2);
    } catch {
      /* shown as stored */
    }
  }
  const anonymous = !currentLogin();
  return (
    <article aria-labelledby="chart-title">
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href={repoHref(repo)}>{repo || "(root repository)"}</Link> / {v.name}
      </nav>
      <header class="chart-head">
        {v.icon && /^https?:/.test(v.icon) && <img src={v.icon} alt="" width={48} height={48} />}
        <div>
          <h1 id="chart-title">
            {v.name} <span class="ver">{v.version}</span>
          </h1>
          {v.description && <p class="desc">{v.description}</p>}
          {v.deprecated && <p class="problem">This chart is deprecated.</p>}
        </div>
      </header>
      <section aria-labelledby="install-title">
        <h2 id="install-title">Install</h2>
        <Snippet id="snippet-repo" title="From the chart repository" text={repoSnippet} />
        <Snippet id="snippet-oci" title="From the OCI registry" text={ociSnippet} />
        <p>
          {anonymous ? (
            <a href={v.download} class="button" download>
              Download {v.name}-{v.version}.tgz
            </a>
          ) : (
            <button type="button" onClick={() => download(v).catch((e) => alert("Download failed: " + e.message))}>
              Download {v.name}-{v.version}.tgz
            </button>
          )}
        </p>
      </section>
      <section aria-labelledby="details-title">
        <h2 id="details-title">Details</h2>
        <dl class="details">
          {v.appVersion && (
            <>
              <dt>App version</dt>
              <dd>{v.appVersion}</dd>
            </>
          )}
          <dt>Created</dt>
          <dd>{date(v.created)}</dd>
          <dt>Digest</dt>
          <dd>
            <code class="digest">sha256:{v.digest}</code>
          </dd>
          <dt>Size</dt>
          <dd>{bytes(v.size)}</dd>
          <dt>Provenance</dt>
          <dd>
            <Provenance v={v} />
          </dd>
          {v.home && (
            <>
              <dt>Home</dt>
              <dd>
                <a href={v.home} rel="noopener noreferrer">
                  {v.home}
                </a>
              </dd>
            </>
          )}
          {(v.sources ?? []).length > 0 && (
            <>
              <dt>Sources</dt>
              <dd>
                <ul>
                  {v.sources!.map((s) => (
                    <li key={s}>
                      <a href={s} rel="noopener noreferrer">
                        {s}
                      </a>
                    </li>
                  ))}
                </ul>
              </dd>
            </>
          )}
          {(v.keywords ?? []).length > 0 && (
            <>
              <dt>Keywords</dt>
              <dd>{v.keywords!.join(", ")}</dd>
            </>
          )}
        </dl>
      </section>
      {(v.maintainers ?? []).length > 0 && (
        <section aria-labelledby="maint-title">
          <h2 id="maint-title">Maintainers</h2>
          <ul>
            {v.maintainers!.map((m) => (
              <li key={m.name}>
                {m.url ? <a href={m.url} rel="noopener noreferrer">{m.name}</a> : m.name}
                {m.email && (
                  <>
                    {" "}
                    &lt;<a href={"mailto:" + m.email}>{m.email}</a>&gt;
                  </>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
      {(v.dependencies ?? []).length > 0 && (
        <section aria-labelledby="deps-title">
          <h2 id="deps-title">Dependencies</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Version</th>
                <th scope="col">Repository</th>
                <th scope="col">Condition</th>
              </tr>
            </thead>
            <tbody>
              {v.dependencies!.map((dep) => (
                <tr key={dep.alias ?? dep.name}>
                  <td>
                    {dep.name}
                    {dep.alias ? ` (as ${dep.alias})` : ""}
                  </td>
                  <td>{dep.version}</td>
                  <td>{dep.repository}</td>
                  <td>{dep.condition}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section aria-labelledby="readme-title">
        <h2 id="readme-title">README</h2>
        {v.readme ? <Readme text={v.readme} /> : <p>This chart has no README.</p>}
      </section>
      <section aria-labelledby="values-title">
        <h2 id="values-title">Default values</h2>
        {v.values ? <Yaml text={v.values} label="values.yaml" /> : <p>This chart has no values.yaml.</p>}
      </section>
      {schema && (
        <section aria-labelledby="schema-title">
          <h2 id="schema-title">Values schema</h2>
          <pre class="code" tabIndex={0} aria-label="values.schema.json">
            <code>{schema}</code>
          </pre>
        </section>
      )}
      <section aria-labelledby="versions-title">
        <h2 id="versions-title">Versions</h2>
        <Versions repo={repo} name={name} current={v.version} first={versions} />
      </section>
    </article>
  );
}
