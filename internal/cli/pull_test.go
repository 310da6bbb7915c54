package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/chart"
)

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// bombArchive is a chart named bomb whose files are n zero-filled files of
// size bytes: a few hundred KB that inflate to n*size.
func bombArchive(t *testing.T, n int, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	cy := "apiVersion: v2\nname: bomb\nversion: 0.1.0\n"
	if err := tw.WriteHeader(&tar.Header{Name: "bomb/Chart.yaml", Mode: 0o644, Size: int64(len(cy)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tw, cy); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("bomb/zeros%d", i), Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, io.LimitReader(zeroReader{}, size)); err != nil {
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

// treeSize is the total size of the regular files under dir.
func treeSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		n += fi.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPullUntarRefusesBombs: `helm pull --untar` of a decompression bomb
// fails with the loader's reason and writes nothing, as real Helm does. The
// hand-rolled extractor it replaces wrote all 300 MiB of the first one.
func TestPullUntarRefusesBombs(t *testing.T) {
	h := newHarness(t)
	repo := filepath.Join(h.dir, "served")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := fileServer(t, repo)
	for _, tt := range []struct {
		name    string
		archive []byte
		msg     string
	}{
		{"one 300 MiB file", bombArchive(t, 1, 300<<20),
			fmt.Sprintf(`decompressed chart file "bomb/zeros0" is larger than the maximum file size %d`, chart.DefaultMaxFileSize)},
		{"files within the file cap, over the chart cap", bombArchive(t, 21, 5<<20),
			fmt.Sprintf("decompressed chart is larger than the maximum size %d", chart.DefaultMaxDecompressed)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.archive) > 1<<20 {
				t.Fatalf("the bomb is %d bytes on the wire", len(tt.archive))
			}
			file := strings.ReplaceAll(tt.name, " ", "-") + ".tgz"
			if err := os.WriteFile(filepath.Join(repo, file), tt.archive, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, run := range []struct {
				client string
				pull   func(...string) result
			}{{"ours", h.ours}, {"helm", h.helm}} {
				dest := filepath.Join(h.dir, run.client, file)
				if err := os.MkdirAll(dest, 0o755); err != nil {
					t.Fatal(err)
				}
				r := run.pull("pull", srv.URL+"/"+file, "--untar", "-d", dest)
				if r.code == 0 {
					t.Errorf("%s: pull --untar succeeded", run.client)
				}
				if !strings.Contains(r.stderr, "larger than the maximum") {
					t.Errorf("%s: stderr %q does not say the chart is too large", run.client, r.stderr)
				}
				if run.client == "ours" && !strings.Contains(r.stderr, tt.msg) {
					t.Errorf("stderr %q does not say %q", r.stderr, tt.msg)
				}
				if n := treeSize(t, dest); n != 0 {
					t.Errorf("%s: wrote %d bytes (the cap is %d)", run.client, n, chart.DefaultMaxDecompressed)
				}
			}
		})
	}
}
