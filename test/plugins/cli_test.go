package plugins

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dumpScript prints its arguments and the environment Helm gives plugins.
const dumpScript = `#!/bin/sh
for a in "$@"; do echo "ARG: $a"; done
env | grep -E '^(HELM_|KUBECONFIG=)' | sort
exit ${EXITCODE:-0}
`

// cliPlugins are Helm 3 plugin sources: a plain command, platformCommand
// selection, ignoreFlags, and one with no command for this platform.
func cliPlugins() map[string]string {
	return map[string]string{
		"envdump/plugin.yaml": `name: envdump
version: 0.1.0
usage: dump the environment
description: prints its arguments and the HELM_ environment
command: "$HELM_PLUGIN_DIR/run.sh --fixed $HELM_NAMESPACE"
`,
		"envdump/run.sh": dumpScript,
		"plat/plugin.yaml": fmt.Sprintf(`name: plat
version: 1.0.0
usage: platform commands
platformCommand:
  - os: plan9
    command: /bin/false
  - os: %[1]s
    command: "$HELM_PLUGIN_DIR/run.sh"
    args: ["--os-only", "$HELM_PLUGIN_NAME"]
  - os: %[1]s
    arch: %[2]s
    command: "$HELM_PLUGIN_DIR/run.sh --exact"
    args: ["${HELM_PLUGIN_DIR}", "$HELM_DEBUG"]
  - command: /bin/false
`, runtime.GOOS, runtime.GOARCH),
		"plat/run.sh": dumpScript,
		"quiet/plugin.yaml": `name: quiet
version: 2.0.0
description: ignores its flags
ignoreFlags: true
command: "$HELM_PLUGIN_DIR/run.sh"
`,
		"quiet/run.sh": dumpScript,
		"none/plugin.yaml": `name: none
version: 0.0.1
platformCommand:
  - os: plan9
    command: /bin/true
`,
	}
}

// TestCLIPluginsLikeHelm3: installed plugins are commands that get the
// same arguments and HELM_* environment, and exit the same way, under our
// client and real Helm 3.22.
func TestCLIPluginsLikeHelm3(t *testing.T) {
	h := newHome(t)
	src := filepath.Join(h.dir, "src")
	writeFiles(t, src, cliPlugins())
	for _, p := range []string{"envdump", "plat", "quiet", "none"} {
		h.must(h.ours("plugin", "install", filepath.Join(src, p)))
	}
	kubeconfig := filepath.Join(h.dir, "kubeconfig")
	writeFiles(t, h.dir, map[string]string{"kubeconfig": `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts:
- {name: main, context: {cluster: c, user: u, namespace: kns}}
- {name: other, context: {cluster: c, user: u, namespace: otherns}}
current-context: main
`})
	cases := []struct {
		name  string
		env   []string
		args  []string
		check string // a line the output must hold, so that nothing empty passes
	}{
		{"plain", nil, []string{"envdump", "a", "b c"}, "ARG: b c"},
		{"global flags taken out", nil, []string{"envdump", "-n", "foo", "--debug", "a", "--b", "c", "--kube-context=x"}, "HELM_KUBECONTEXT=x"},
		{"flags before the name", nil, []string{"--namespace", "ns1", "envdump", "x"}, "HELM_NAMESPACE=ns1"},
		{"insecure flag eats a value", nil, []string{"envdump", "--kube-insecure-skip-tls-verify", "x", "y"}, "ARG: y"},
		{"flags helm parses but passes on", nil, []string{"--burst-limit", "3", "envdump", "--qps=2", "--", "-n", "z"}, "HELM_BURST_LIMIT=3"},
		{"paths", nil, []string{"envdump", "--registry-config", "/tmp/r.json", "--repository-config=/tmp/x.yaml", "--repository-cache", "/tmp/c"}, "HELM_REPOSITORY_CACHE=/tmp/c"},
		{"environment", []string{"HELM_NAMESPACE=envns", "HELM_DEBUG=1", "KUBECONFIG=/k/config", "HELM_KUBETOKEN=tok"}, []string{"envdump"}, "KUBECONFIG=/k/config"},
		{"kubeconfig namespace", []string{"KUBECONFIG=" + kubeconfig}, []string{"envdump"}, "HELM_NAMESPACE=kns"},
		{"-n over the kubeconfig", []string{"KUBECONFIG=" + kubeconfig}, []string{"envdump", "-n", "flagns", "--kube-context", "other"}, "HELM_NAMESPACE=flagns"},
		{"kubeconfig context flag", []string{"KUBECONFIG=" + kubeconfig}, []string{"envdump", "--kube-context", "other"}, "HELM_NAMESPACE=otherns"},
		{"exit code", []string{"EXITCODE=3"}, []string{"envdump"}, "ARG: --fixed"},
		{"platformCommand", nil, []string{"plat", "z"}, "ARG: --exact"},
		{"ignoreFlags", nil, []string{"quiet", "a", "-n", "q"}, "HELM_NAMESPACE=q"},
		{"no command for the platform", nil, []string{"none"}, ""},
		{"help", nil, []string{"help", "envdump"}, "prints its arguments"},
		{"plugin help flag", nil, []string{"envdump", "--help"}, "ARG: --help"},
		{"unknown command", nil, []string{"nosuch"}, ""},
		{"plugins disabled", []string{"HELM_NO_PLUGINS=1"}, []string{"envdump"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ours := normalize(h.run(bins.helm, c.env, c.args...), h.dir)
			helm := normalize(h.run(h.peer("helm"), c.env, c.args...), h.dir)
			if diff := cmp.Diff(helm, ours); diff != "" {
				t.Errorf("helm %s (-helm +ours):\n%s", strings.Join(c.args, " "), diff)
			}
			if c.check != "" && !strings.Contains(ours.Stdout, c.check) {
				t.Errorf("output lacks %q:\n%s", c.check, ours.Stdout)
			}
		})
	}
}
