package plugins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// v1Plugins are Helm 4 (apiVersion v1) plugin sources, one of each type.
func v1Plugins() map[string]string {
	return map[string]string{
		"v1cli/plugin.yaml": `apiVersion: v1
name: v1cli
type: cli/v1
runtime: subprocess
version: 0.2.0
config:
  usage: "v1cli [flags] ARGS..."
  shortHelp: a Helm 4 command
  longHelp: prints its arguments and environment
runtimeConfig:
  platformCommand:
    - command: "${HELM_PLUGIN_DIR}/run.sh --v1"
      args: ["$HELM_PLUGIN_NAME"]
`,
		"v1cli/run.sh": dumpScript,
		"v1post/plugin.yaml": `apiVersion: v1
name: v1post
type: postrenderer/v1
runtime: subprocess
version: 1.2.3
runtimeConfig:
  platformCommand:
    - command: "${HELM_PLUGIN_DIR}/sed.sh"
`,
		"v1post/sed.sh": "#!/bin/sh\nif [ $# -eq 0 ]; then sed s/release-name/POSTRENDERED/g; else sed \"s/release-name/$*/g\"; fi\n",
		"v1empty/plugin.yaml": `apiVersion: v1
name: v1empty
type: postrenderer/v1
runtime: subprocess
version: 1.0.0
runtimeConfig:
  platformCommand:
    - command: "${HELM_PLUGIN_DIR}/empty.sh"
`,
		"v1empty/empty.sh": "#!/bin/sh\ncat >/dev/null\n",
		"v1get/plugin.yaml": `apiVersion: v1
name: v1get
type: getter/v1
runtime: subprocess
version: 0.1.0
config:
  protocols: ["fakev1"]
runtimeConfig:
  protocolCommands:
    - protocols: ["fakev1"]
      platformCommand:
        - command: "get.sh"
`,
		"v1get/get.sh": strings.ReplaceAll(getScript, "fake2://charts/*", "fakev1://charts/*) cat \"$FAKE_ROOT/${4#fakev1://charts/}\" ;;\n  never/*"),
	}
}

// helm4Only are the variables Helm 4 passes to plugins that Helm 3 does
// not; this client passes Helm 3's set.
var helm4Only = []string{"HELM_COLOR=", "HELM_CONTENT_CACHE=", "HELM_NO_COLOR="}

func dropLines(s string, prefixes []string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		drop := false
		for _, p := range prefixes {
			drop = drop || strings.HasPrefix(l, p)
		}
		if !drop {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestV1PluginsLikeHelm4: plugins in Helm 4's format work here as in Helm
// 4.3: a cli/v1 command, a getter/v1 downloader, and --post-renderer by
// plugin name (whose output is compared with Helm 3.22 running the same
// program by path, since Helm 4 renders charts differently).
func TestV1PluginsLikeHelm4(t *testing.T) {
	shared := t.TempDir()
	src := filepath.Join(shared, "src")
	writeFiles(t, src, v1Plugins())
	setup := newHome(t)
	chart := filepath.Join(shared, "demo")
	setup.must(setup.helm3("create", chart))
	root := filepath.Join(shared, "charts")
	setup.must(setup.helm3("package", chart, "-d", root))
	setup.must(setup.helm3("repo", "index", root, "--url", "fakev1://charts"))
	cases := [][]string{
		{"v1cli", "a", "-n", "ns4"},
		{"help", "v1cli"},
		{"repo", "add", "v1", "fakev1://charts"},
		{"pull", "v1/demo", "-d", "out"},
		{"template", "demo", "--post-renderer", "v1empty"},
	}
	run := func(bin string) ([]result, string, *home) {
		h := newHome(t)
		for _, p := range []string{"v1cli", "v1post", "v1empty", "v1get"} {
			h.must(h.ours("plugin", "install", filepath.Join(src, p)))
		}
		writeFiles(t, h.dir, map[string]string{"out/.keep": ""})
		if err := os.Symlink(chart, filepath.Join(h.dir, "demo")); err != nil {
			t.Fatal(err)
		}
		log := filepath.Join(h.dir, "get.log")
		extra := []string{"FAKE_ROOT=" + root, "FAKE_LOG=" + log}
		var out []result
		for _, c := range cases {
			r := normalize(h.run(bin, extra, c...), h.dir)
			r.Stdout = dropLines(r.Stdout, helm4Only)
			// Helm 4's global flags are not this client's.
			r.Stdout, _, _ = strings.Cut(r.Stdout, "Global Flags:")
			out = append(out, r)
		}
		b, _ := os.ReadFile(log)
		return out, strings.ReplaceAll(string(b), h.dir, "<home>"), h
	}
	ours, oursLog, oh := run(bins.helm)
	helm, helmLog, _ := run(setup.peer("helm4"))
	for i, c := range cases {
		if diff := cmp.Diff(helm[i], ours[i]); diff != "" {
			t.Errorf("helm %s (-helm 4.3 +ours):\n%s", strings.Join(c, " "), diff)
		}
	}
	if !strings.Contains(ours[0].Stdout, "ARG: --v1\nARG: v1cli\nARG: a\n") || !strings.Contains(ours[1].Stdout, "prints its arguments") || ours[3].Code != 0 {
		t.Errorf("cli/v1 or getter/v1 did not run: %+v %+v", ours[0], ours[3])
	}
	if diff := cmp.Diff(helmLog, oursLog); diff != "" || !strings.Contains(oursLog, "[fakev1://charts/demo-0.1.0.tgz]") {
		t.Errorf("getter calls (-helm 4.3 +ours):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(oh.dir, "out", "demo-0.1.0.tgz")); err != nil {
		t.Errorf("pull through the getter/v1 plugin: %v", err)
	}
	sed := filepath.Join(oh.plugins(), "v1post", "sed.sh")
	for want, args := range map[string][]string{"name: POSTRENDERED-demo": nil, "name: ARGS-demo": {"--post-renderer-args", "ARGS"}} {
		byName := oh.ours(append([]string{"template", chart, "--post-renderer", "v1post"}, args...)...)
		byPath := oh.helm3(append([]string{"template", chart, "--post-renderer", sed}, args...)...)
		// Helm 3 cannot load the v1 plugins beside the file it runs, and
		// says so on stderr; stdout is what counts.
		if diff := cmp.Diff(byPath.Stdout, byName.Stdout); diff != "" || byName.Code != 0 || !strings.Contains(byName.Stdout, want) {
			t.Errorf("--post-renderer v1post %v (-helm 3.22 by path +ours by name):\n%s", args, diff)
		}
	}
}
