// Package browser drives Debian's headless Chromium from tests, with
// chromedp, against a chartd on 127.0.0.1. A missing Chromium fails the
// test (it is installed by `make tools`); it never skips it.
package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds Chromium: $CHARTD_CHROMIUM, else chromium on $PATH.
func Path(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("CHARTD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Fatal("headless Chromium not found (chromium on $PATH, or $CHARTD_CHROMIUM): run `make tools`, which installs Debian's chromium package")
	return ""
}

// New starts a fresh headless Chromium (its own profile) and returns a tab's
// context, bounded by timeout. Everything is closed at the test's end.
func New(tb testing.TB, timeout time.Duration) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Path(tb)),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1280, 1024),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Tests run as root here, where Chromium's sandbox cannot start.
		chromedp.NoSandbox,
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(tb.Logf))
	tctx, cancelC := context.WithTimeout(ctx, timeout)
	tb.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	// Start the browser now, so a broken install fails here, clearly.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start Chromium (%s): %v; run `make tools`", Path(tb), err)
	}
	return tctx
}

// ArtifactsDir is where screenshots go: $CHARTD_TEST_ARTIFACTS/<test>, else
// test-artifacts/<test> at the module root (gitignored). It is logged.
func ArtifactsDir(tb testing.TB) string {
	tb.Helper()
	root := os.Getenv("CHARTD_TEST_ARTIFACTS")
	if root == "" {
		_, file, _, _ := runtime.Caller(0)
		root = filepath.Join(filepath.Dir(file), "..", "..", "..", "test-artifacts")
	}
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(tb.Name(), "_")
	dir, err := filepath.Abs(filepath.Join(root, name))
	if err == nil {
		// A previous run's screenshots (a failure's among them) would
		// read as this run's.
		err = os.RemoveAll(dir)
	}
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("screenshots in %s", dir)
	return dir
}

// Screenshot saves the whole page as dir/name.png.
func Screenshot(tb testing.TB, ctx context.Context, dir, name string) {
	tb.Helper()
	if err := TryScreenshot(ctx, dir, name); err != nil {
		tb.Fatal(err)
	}
}

// TryScreenshot is Screenshot for a test that is failing already.
func TryScreenshot(ctx context.Context, dir, name string) error {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// RequireUI fails unless the chartd at base serves the built UI rather than
// the fallback page a plain `go build` embeds.
func RequireUI(tb testing.TB, base string) {
	tb.Helper()
	res, err := http.Get(base + "/ui/")
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "/ui/assets/app.js") {
		tb.Fatalf("chartd serves no built web UI at /ui/ (%d): run `make ui` (npm ci and the bundler) before the tests", res.StatusCode)
	}
}
