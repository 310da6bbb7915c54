package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chartd/chartd/internal/testutil/peers"
)

// peer runs the named real tool (helm, helm4) with the harness's
// environment plus extra variables.
func (h *harness) peer(name string, extra []string, args ...string) result {
	h.t.Helper()
	cmd := exec.Command(peers.Path(h.t, name), args...)
	cmd.Env = append(append([]string{}, h.env...), extra...)
	cmd.Dir = h.dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("run %s: %v", name, err)
	}
	return result{out.String(), errOut.String(), code}
}

// copyTree copies the chart directory src to dst, giving every file its
// own modification time (sub-second parts included), so an archive that
// ignores or rounds them differently shows it.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	base := time.Date(2023, 4, 5, 6, 7, 8, 250_000_000, time.UTC)
	i := 0
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return err
		}
		i++
		mt := base.Add(time.Duration(i) * 37 * time.Hour)
		return os.Chtimes(out, mt, mt)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// entries lists an archive's entries as "name mtime sha", sorted, for
// charts with several subcharts, whose order Helm 4 leaves to map order.
func entries(t *testing.T, data []byte) string {
	t.Helper()
	lines := untar(t, data)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestPackageBytesMatchHelm4 packages every chart of the render corpus, and
// Helm's scaffold, with ours and with real Helm 4.3, from the same files
// with the same mtimes, with and without SOURCE_DATE_EPOCH: the archives
// must be byte-identical (as a set of entries where Helm's subchart order
// is map order), and a chart Helm refuses must be refused by ours.
func TestPackageBytesMatchHelm4(t *testing.T) {
	h := newHarness(t)
	corpus, err := filepath.Abs("../render/testdata/charts")
	if err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	var srcs []string
	for _, n := range names {
		srcs = append(srcs, filepath.Join(corpus, n.Name()))
	}
	scaffold := filepath.Join(h.dir, "scaffold")
	h.must(h.peer("helm4", nil, "create", scaffold))
	srcs = append(srcs, scaffold)

	same, asSet, packaged, total := 0, 0, 0, 0
	for _, epoch := range []string{"", "1700000000"} {
		for _, src := range srcs {
			total++
			name := filepath.Base(src)
			work := filepath.Join(h.dir, "work", epoch, name)
			copyTree(t, src, work)
			hd, od := filepath.Join(h.dir, "helm4", epoch, name), filepath.Join(h.dir, "ours", epoch, name)
			var extra []string
			if epoch != "" {
				extra = []string{"SOURCE_DATE_EPOCH=" + epoch}
				h.vars["SOURCE_DATE_EPOCH"] = epoch
			}
			rh := h.peer("helm4", extra, "package", work, "-d", hd)
			ro := h.ours("package", work, "-d", od)
			delete(h.vars, "SOURCE_DATE_EPOCH")
			if (rh.code == 0) != (ro.code == 0) {
				t.Errorf("%s (epoch %q): helm4 exit %d %s, ours exit %d %s", name, epoch, rh.code, rh.stderr, ro.code, ro.stderr)
				continue
			}
			if rh.code != 0 {
				same++
				continue
			}
			packaged++
			hb, ob := readOnly(t, hd), readOnly(t, od)
			if bytes.Equal(hb, ob) {
				same++
				continue
			}
			if strings.Count(entries(t, hb), "/Chart.yaml ") > 2 && entries(t, hb) == entries(t, ob) {
				same++ // the same entries; Helm's subchart order is random
				asSet++
				continue
			}
			t.Errorf("%s (epoch %q): archives differ\nhelm4:\n%s\nours:\n%s", name, epoch, listing(t, hb), listing(t, ob))
		}
	}
	t.Logf("%d of %d cases identical to Helm 4.3 (%d packaged, the rest refused by both; %d with several subcharts equal as sets of entries)", same, total, packaged, asSet)
	if packaged == 0 {
		t.Fatal("no chart was packaged")
	}
}

// TestPackageSourceDateEpochInvalid: Helm 4's errors for a bad value.
func TestPackageSourceDateEpochInvalid(t *testing.T) {
	h := newHarness(t)
	src := filepath.Join(h.dir, "c")
	h.must(h.peer("helm4", nil, "create", src))
	for _, v := range []string{"soon", "-1"} {
		rh := h.peer("helm4", []string{"SOURCE_DATE_EPOCH=" + v}, "package", src, "-d", h.dir)
		h.vars["SOURCE_DATE_EPOCH"] = v
		ro := h.ours("package", src, "-d", h.dir)
		delete(h.vars, "SOURCE_DATE_EPOCH")
		if rh.code == 0 || ro.code == 0 || rh.stderr != ro.stderr {
			t.Errorf("SOURCE_DATE_EPOCH=%s: helm4 %d %q, ours %d %q", v, rh.code, rh.stderr, ro.code, ro.stderr)
		}
	}
}

func readOnly(t *testing.T, dir string) []byte {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil || len(m) != 1 {
		t.Fatalf("want one archive in %s, got %v (%v)", dir, m, err)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// untar lists an archive's entries as "name mtime sha256" in order, and the
// gzip header's fields first.
func untar(t *testing.T, data []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{fmt.Sprintf("gzip name=%q comment=%q extra=%q mtime=%d os=%d", zr.Name, zr.Comment, zr.Extra, zr.ModTime.Unix(), zr.OS)}
	tr := tar.NewReader(zr)
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %c %o %s %x", hd.Name, hd.Typeflag, hd.Mode, hd.ModTime.UTC().Format(time.RFC3339Nano), sha256.Sum256(data)))
	}
}

func listing(t *testing.T, data []byte) string { return strings.Join(untar(t, data), "\n") }
