package cli_test

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/cli"
	"github.com/chartd/chartd/internal/helmpath"
	"github.com/chartd/chartd/internal/testutil/peers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// harness runs our client in-process and real Helm as a process with the
// same isolated HOME and XDG directories, so they share repositories.yaml,
// the repository cache and registry credentials.
type harness struct {
	t    *testing.T
	dir  string
	env  []string
	vars map[string]string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	env := peers.Env(dir)
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return &harness{t: t, dir: dir, env: env, vars: vars}
}

type result struct {
	stdout, stderr string
	code           int
}

// ours runs our helm with args, stdin empty.
func (h *harness) ours(args ...string) result {
	return h.oursIn("", args...)
}

func (h *harness) oursIn(stdin string, args ...string) result {
	h.t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), args, helmpath.MapLookup(h.vars), strings.NewReader(stdin), &out, &errOut)
	return result{out.String(), errOut.String(), code}
}

// helm runs real Helm v3.22.0 with args.
func (h *harness) helm(args ...string) result {
	h.t.Helper()
	cmd := exec.Command(peers.Path(h.t, "helm"), args...)
	cmd.Env = h.env
	cmd.Dir = h.dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("run helm: %v", err)
	}
	return result{out.String(), errOut.String(), code}
}

// must fails the test unless r succeeded.
func (h *harness) must(r result) result {
	h.t.Helper()
	if r.code != 0 {
		h.t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r
}

// fileServer serves dir over HTTP on 127.0.0.1.
func fileServer(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv
}

// golden compares got with testdata/<name>.golden, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file:\n--- want\n%s\n--- got\n%s", p, want, got)
	}
}
