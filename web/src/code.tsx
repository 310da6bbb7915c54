// Code blocks: YAML with highlighting, and snippets with a copy button.
// Highlighting builds elements, never HTML from the chart's text, so a
// values.yaml cannot inject markup.
import { useRef, useState } from "preact/hooks";

type Tok = { t: "key" | "comment" | "string" | "number" | "bool" | "punct" | "text"; s: string };

// tokenize splits one YAML line coarsely: indentation, an optional "- ",
// a key before ": ", a value, and a trailing comment. It only colours;
// it never decides what the YAML means.
export function tokenize(line: string): Tok[] {
  const out: Tok[] = [];
  const m = /^(\s*)((?:-\s+)*)(.*)$/.exec(line)!;
  if (m[1]) out.push({ t: "text", s: m[1] });
  if (m[2]) out.push({ t: "punct", s: m[2] });
  let rest = m[3];
  if (rest.startsWith("#")) return [...out, { t: "comment", s: rest }];
  const key = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s#'"][^:#]*?)(:)(\s|$)/.exec(rest);
  if (key) {
    out.push({ t: "key", s: key[1] }, { t: "punct", s: key[2] });
    rest = rest.slice(key[1].length + 1);
  }
  // A comment starts at " #" outside quotes.
  let value = rest;
  let comment = "";
  let quote = "";
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(rest[i - 1]))) {
      value = rest.slice(0, i);
      comment = rest.slice(i);
      break;
    }
  }
  const v = value.trim();
  const lead = value.slice(0, value.length - value.trimStart().length);
  const trail = value.slice(lead.length + v.length);
  if (lead) out.push({ t: "text", s: lead });
  if (v) {
    let t: Tok["t"] = "text";
    if (/^["'].*["']$/.test(v)) t = "string";
    else if (/^[-+]?(\d[\d_]*(\.\d*)?([eE][-+]?\d+)?|\.inf|\.nan|0x[0-9a-fA-F]+)$/.test(v)) t = "number";
    else if (/^(true|false|null|~|yes|no|on|off)$/i.test(v)) t = "bool";
    else if (/^[|>][-+]?\d*$/.test(v) || /^[{}[\],]+$/.test(v)) t = "punct";
    out.push({ t, s: v });
  }
  if (trail) out.push({ t: "text", s: trail });
  if (comment) out.push({ t: "comment", s: comment });
  return out;
}

export function Yaml({ text, label }: { text: string; label: string }) {
  const lines = text.replace(/\n$/, "").split("\n");
  return (
    <pre class="code yaml" tabIndex={0} aria-label={label}>
      <code>
        {lines.map((l, i) => (
          <span key={i} class="line">
            {tokenize(l).map((tok, j) => (tok.t === "text" ? tok.s : <span key={j} class={"y-" + tok.t}>{tok.s}</span>))}
            {"\n"}
          </span>
        ))}
      </code>
    </pre>
  );
}

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      /* denied: fall back below */
    }
  }
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.style.position = "fixed";
  ta.style.opacity = "0";
  document.body.append(ta);
  ta.select();
  const ok = document.execCommand("copy");
  ta.remove();
  if (!ok) throw new Error("the browser refused to copy");
}

export function Snippet({ id, title, text }: { id: string; title: string; text: string }) {
  const [status, setStatus] = useState("");
  const timer = useRef<number>();
  const copy = async () => {
    try {
      await copyText(text);
      setStatus("Copied");
    } catch (e) {
      setStatus("Copy failed: select the text and copy it");
    }
    clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setStatus(""), 3000);
  };
  return (
    <div class="snippet">
      <div class="snippet-head">
        <span id={id + "-title"}>{title}</span>
        <button type="button" class="copy" onClick={copy} aria-describedby={id + "-title"} data-copy={id}>
          Copy
        </button>
        <span class="status" role="status" aria-live="polite">
          {status}
        </span>
      </div>
      <pre class="code" id={id} tabIndex={0} aria-labelledby={id + "-title"}>
        <code>{text}</code>
      </pre>
    </div>
  );
}
