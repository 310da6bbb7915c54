// Package peers locates the real tools the tests compare against (real Helm,
// ChartMuseum, the cm-push plugin, oras, the distribution registry). `make
// tools` installs them, pinned, into bin/peers; a test that needs one fails,
// never skips, when it is missing, so CI cannot pass without the real peer.
package peers

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the module root (the directory holding go.mod).
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("peers: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Path returns the absolute path of the named peer binary, from $CHARTD_PEERS
// or <module root>/bin/peers. It fails the test when the binary is missing.
func Path(tb testing.TB, name string) string {
	tb.Helper()
	dir := os.Getenv("CHARTD_PEERS")
	if dir == "" {
		dir = filepath.Join(Root(tb), "bin", "peers")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("peers: %s is missing (run `make tools`): %v", p, err)
	}
	return p
}

// Env returns an environment for running real Helm in isolation: its own
// HOME and XDG directories under dir, so tests never read or write the
// user's configuration.
func Env(dir string) []string {
	env := []string{
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"HELM_PLUGINS=" + filepath.Join(dir, "plugins"),
		"GNUPGHOME=" + filepath.Join(dir, "gnupg"),
	}
	return env
}
