// Builds the UI into ../internal/webui/dist, which the chartd binary embeds.
// `make ui` runs it after `npm ci`. Prints each output file's size, raw and
// gzipped, which the README quotes.
import { build } from "esbuild";
import { mkdirSync, copyFileSync, readFileSync, rmSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
process.chdir(here);
const out = new URL("../internal/webui/dist/", import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
// Committed, so that `go build` finds the embed pattern before npm ran.
writeFileSync(join(out, ".gitkeep"), "");
await build({
  absWorkingDir: here,
  entryPoints: ["src/main.tsx"],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  jsx: "automatic",
  jsxImportSource: "preact",
  outfile: join(out, "assets/app.js"),
  legalComments: "linked",
  logLevel: "warning",
});
copyFileSync("src/index.html", join(out, "index.html"));
copyFileSync("src/style.css", join(out, "assets/app.css"));
for (const dir of [out, join(out, "assets")]) {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isFile() && f !== ".gitkeep") {
      const b = readFileSync(p);
      console.log(`${p.slice(out.length).padEnd(24)} ${String(b.length).padStart(7)} B  ${String(gzipSync(b).length).padStart(6)} B gzipped`);
    }
  }
}
