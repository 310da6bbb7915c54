package plugins

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tgz packs files (path -> content) as a gzipped tar with no directory
// entries, the layout Helm 3's http installer accepts.
func tgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range sortedKeys(files) {
		mode := int64(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// serveArchives serves name -> bytes as application/gzip, as plugin
// release downloads are served.
func serveArchives(t *testing.T, files map[string][]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/gzip")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const hookScript = "#!/bin/sh\necho \"hook $1 for $2 in $HELM_PLUGIN_DIR (namespace $HELM_NAMESPACE)\"\n"

// TestPluginManagementLikeHelm3: plugin install, list, uninstall and
// update print, fail and run hooks as Helm 3.22 does, for local
// directories and an archive over HTTP.
func TestPluginManagementLikeHelm3(t *testing.T) {
	shared := t.TempDir()
	src := filepath.Join(shared, "src")
	writeFiles(t, src, map[string]string{
		"hooked/plugin.yaml": `name: hooked
version: 1.0.0
usage: has hooks
description: string hooks, run by sh
command: "$HELM_PLUGIN_DIR/run.sh"
hooks:
  install: "echo installed $HELM_PLUGIN_NAME into $HELM_PLUGIN_DIR"
  update: "echo updated $HELM_PLUGIN_NAME"
  delete: "echo deleted $HELM_PLUGIN_NAME"
`,
		"hooked/run.sh": dumpScript,
		"phooked/plugin.yaml": `name: phooked
version: 1.1.0
description: platform hooks
platformCommand:
  - command: "$HELM_PLUGIN_DIR/run.sh"
platformHooks:
  install:
    - command: "$HELM_PLUGIN_DIR/hook.sh"
      args: ["install", "$HELM_PLUGIN_NAME"]
  delete:
    - os: plan9
      command: /bin/false
`,
		"phooked/run.sh":  dumpScript,
		"phooked/hook.sh": hookScript,
		"failhook/plugin.yaml": `name: failhook
version: 0.0.1
description: its install hook fails
hooks:
  install: "echo failing >&2; exit 4"
`,
		"nometa/README.md":       "no plugin.yaml here\n",
		"notaplugin.txt":         "a file\n",
		"badname/plugin.yaml":    "name: bad name\nversion: 1.0.0\n",
		"unknownkey/plugin.yaml": "name: unknownkey\nversion: 1.0.0\nflavour: strict\n",
	})
	srv := serveArchives(t, map[string][]byte{
		"httpplug-1.2.3.tgz": tgz(t, map[string]string{
			"plugin.yaml": "name: httpplug\nversion: 1.2.3\ndescription: from an archive\ncommand: \"$HELM_PLUGIN_DIR/run.sh\"\nplatformHooks:\n  install:\n    - command: \"$HELM_PLUGIN_DIR/hook.sh\"\n      args: [install, \"$HELM_PLUGIN_NAME\"]\n",
			"run.sh":      dumpScript,
			"hook.sh":     hookScript,
		}),
	})
	steps := [][]string{
		{"plugin", "install", filepath.Join(src, "hooked")},
		{"plugin", "install", filepath.Join(src, "phooked"), "-n", "hookns"},
		{"plugin", "install", filepath.Join(src, "hooked")},
		{"plugin", "install", filepath.Join(src, "nometa")},
		{"plugin", "install", filepath.Join(src, "notaplugin.txt")},
		{"plugin", "install", srv.URL + "/httpplug-1.2.3.tgz"},
		{"plugin", "list"},
		{"httpplug", "x"},
		{"plugin", "install", filepath.Join(src, "failhook")},
		{"plugin", "ls"},
		{"plugin", "uninstall", "hooked", "nope"},
		{"plugin", "rm", "phooked"},
		{"plugin", "remove", "httpplug", "failhook"},
		{"plugin", "update", "nope"},
		{"plugin", "uninstall"},
		{"plugin", "update"},
		{"plugin", "install"},
		{"plugin", "list"},
		{"plugin", "install", filepath.Join(src, "unknownkey")},
		{"plugin", "list"},
		{"plugin", "uninstall", "unknownkey"},
		{"plugin", "install", filepath.Join(src, "badname")},
		{"plugin", "list"},
	}
	run := func(bin string) []result {
		h := newHome(t)
		var out []result
		for _, s := range steps {
			out = append(out, normalize(h.run(bin, nil, s...), h.dir))
		}
		return out
	}
	ours, helm := run(bins.helm), run(newHome(t).peer("helm"))
	// Helm 3 installs an unsigned archive silently; ours warns on stderr.
	warning := "WARNING: no provenance file (.prov) found for " + srv.URL + "/httpplug-1.2.3.tgz: the plugin's signature is not verified\n"
	if !strings.Contains(ours[5].Stderr, warning) {
		t.Errorf("no warning for an unsigned archive: %q", ours[5].Stderr)
	}
	ours[5].Stderr = strings.Replace(ours[5].Stderr, warning, "", 1)
	for i, s := range steps {
		if diff := cmp.Diff(helm[i], ours[i]); diff != "" {
			t.Errorf("helm %s (-helm +ours):\n%s", strings.Join(s, " "), diff)
		}
	}
	if !strings.Contains(ours[0].Stdout, "installed hooked into <home>/data/helm/plugins/hooked") || !strings.Contains(ours[1].Stdout, "namespace hookns") {
		t.Errorf("install hooks did not run:\n%s%s", ours[0].Stdout, ours[1].Stdout)
	}
}

// TestPluginUpdateLinked: a plugin linked from a directory is updated in
// place and its update hook runs. (Helm 3 refuses every source but a VCS
// checkout, "cannot get information about plugin source"; this client
// installs no VCS checkouts, so it updates what it can.)
func TestPluginUpdateLinked(t *testing.T) {
	h := newHome(t)
	src := filepath.Join(h.dir, "src")
	writeFiles(t, src, map[string]string{
		"up/plugin.yaml": "name: up\nversion: 1.0.0\ndescription: old\nhooks:\n  update: \"echo updated $HELM_PLUGIN_NAME\"\n",
	})
	h.must(h.ours("plugin", "install", filepath.Join(src, "up")))
	writeFiles(t, src, map[string]string{
		"up/plugin.yaml": "name: up\nversion: 2.0.0\ndescription: new\nhooks:\n  update: \"echo updated $HELM_PLUGIN_NAME to 2\"\n",
	})
	if r := h.must(h.ours("plugin", "update", "up")); r.Stdout != "updated up to 2\nUpdated plugin: up\n" {
		t.Errorf("update printed %q", r.Stdout)
	}
	if r := h.must(h.ours("plugin", "list")); !strings.Contains(r.Stdout, "2.0.0") {
		t.Errorf("list after update:\n%s", r.Stdout)
	}
}
