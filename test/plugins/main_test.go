// Package plugins runs Helm plugins, written by the tests as real plugin
// sources (shell plugins, downloaders, post-renderers, the real
// helm-cm-push binary), under our helm binary and under real Helm 3.22 and
// 4.3, and compares what the plugins see and what the clients print.
package plugins

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// bins are our binaries, built once in TestMain and only read afterwards.
var bins struct{ helm, chartd string }

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "chartd-plugins-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	wd, _ := os.Getwd()
	root := filepath.Join(wd, "..", "..")
	// CHARTD_TEST_HELM runs the comparisons against another build of our
	// client (an older commit, to count what it got wrong).
	if bins.helm = os.Getenv("CHARTD_TEST_HELM"); bins.helm == "" {
		bins.helm, err = procs.Build(root, "./cmd/helm", dir)
	}
	if err == nil {
		bins.chartd, err = procs.Build(root, "./cmd/chartd", dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// home is an isolated Helm home (HOME, XDG directories, HELM_PLUGINS).
type home struct {
	t   *testing.T
	dir string
	env []string
}

// newHome makes a home whose plugins live in $HELM_DATA_HOME/plugins, the
// directory Helm's http installer writes to whatever HELM_PLUGINS says.
func newHome(t *testing.T) *home {
	t.Helper()
	dir := t.TempDir()
	env := peers.Env(dir)
	for i, kv := range env {
		if strings.HasPrefix(kv, "HELM_PLUGINS=") {
			env[i] = "HELM_PLUGINS=" + filepath.Join(dir, "data", "helm", "plugins")
		}
	}
	return &home{t: t, dir: dir, env: env}
}

func (h *home) plugins() string { return filepath.Join(h.dir, "data", "helm", "plugins") }

type result struct {
	Stdout, Stderr string
	Code           int
}

// run runs bin in the home, with extra environment variables.
func (h *home) run(bin string, extra []string, args ...string) result {
	h.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append([]string{}, h.env...), extra...)
	cmd.Dir = h.dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("run %s: %v", bin, err)
	}
	return result{out.String(), errOut.String(), code}
}

func (h *home) ours(args ...string) result { h.t.Helper(); return h.run(bins.helm, nil, args...) }
func (h *home) helm3(args ...string) result {
	h.t.Helper()
	return h.run(peers.Path(h.t, "helm"), nil, args...)
}
func (h *home) helm4(args ...string) result {
	h.t.Helper()
	return h.run(peers.Path(h.t, "helm4"), nil, args...)
}

func (h *home) must(r result) result {
	h.t.Helper()
	if r.Code != 0 {
		h.t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// normalize replaces what legitimately differs between two homes and two
// binaries: the home directory and HELM_BIN.
func normalize(r result, dir string) result {
	f := func(s string) string {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "HELM_BIN=") {
				l = "HELM_BIN=<helm>"
			}
			lines = append(lines, l)
		}
		return strings.ReplaceAll(strings.Join(lines, "\n"), dir, "<home>")
	}
	return result{f(r.Stdout), f(r.Stderr), r.Code}
}

// writeFiles writes files (path -> content) under dir; names ending in
// ".sh" are made executable.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// peer is the path of a real peer binary.
func (h *home) peer(name string) string { return peers.Path(h.t, name) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
