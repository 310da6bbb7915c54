// Package e2e runs chartd and the helm client as real processes against
// real peers: Helm v3.22.0, ChartMuseum v0.16.3, the cm-push plugin and oras,
// all installed pinned by `make tools`.
package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/internal/testutil/procs"
)

// binaries holds the project's own binaries, built once per test run in
// TestMain and only read afterwards.
type binaries struct {
	chartd string
	helm   string
}

var bins binaries

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "chartd-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	wd, _ := os.Getwd()
	root := filepath.Join(wd, "..", "..")
	if bins.chartd, err = procs.Build(root, "./cmd/chartd", dir); err == nil {
		bins.helm, err = procs.Build(root, "./cmd/helm", dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Replica tests share a real PostgreSQL, started once for the binary.
	return pgtest.Main(m)
}

func startChartd(t *testing.T, dataDir string, args ...string) *procs.Proc {
	t.Helper()
	return procs.StartChartd(t, bins.chartd, dataDir, args...)
}

func startChartMuseum(t *testing.T, dir string, args ...string) *procs.Proc {
	t.Helper()
	return procs.StartChartMuseum(t, dir, args...)
}

// helmEnv is an isolated Helm home shared by real Helm and ours.
type helmEnv struct {
	dir string
	env []string
}

func newHelmEnv(t *testing.T) *helmEnv {
	t.Helper()
	dir := t.TempDir()
	return &helmEnv{dir: dir, env: peers.Env(dir)}
}

// run runs a helm binary and returns stdout; it fails the test on error.
func (h *helmEnv) run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, errOut, err := h.try(bin, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (h *helmEnv) try(bin string, args ...string) (string, string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = h.env
	cmd.Dir = h.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func httpDo(t *testing.T, method, url string, body io.Reader, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}
