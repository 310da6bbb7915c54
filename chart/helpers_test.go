package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chartd/chartd/internal/testutil/peers"
)

// entry is one crafted tar entry. Type defaults to a regular file, Mode to
// 0644.
type entry struct {
	Name     string
	Body     string
	Type     byte
	Linkname string
	PAX      map[string]string
	Mode     int64
}

// tgz builds a gzipped tar archive from entries, exactly as given, so tests
// can craft archives that no well-behaved tool would write.
func tgz(t testing.TB, entries ...entry) []byte {
	t.Helper()
	return gzBytes(t, tarBytes(t, entries...))
}

// tarBytes is the uncompressed tar stream of entries, end marker included.
func tarBytes(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.Mode
		if mode == 0 {
			mode = 0o644
		}
		hd := &tar.Header{Name: e.Name, Typeflag: typ, Linkname: e.Linkname, Mode: mode, PAXRecords: e.PAX}
		if typ == tar.TypeXGlobalHeader {
			hd = &tar.Header{Typeflag: typ, PAXRecords: e.PAX}
		}
		if typ == tar.TypeReg {
			hd.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(hd); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzBytes compresses b as one gzip member.
func gzBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const minimalChartYaml = "apiVersion: v2\nname: demo\nversion: 0.1.0\n"

// untar lists an archive's regular files (name -> content) with nothing
// but the standard library, independently of the code under test.
func untar(t testing.TB, data []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hd.Name] = string(b)
	}
}

// copyDir copies a test fixture so tests can add to it.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// helm runs the real Helm in an isolated home and returns its stdout.
func helm(t testing.TB, home string, args ...string) string {
	t.Helper()
	cmd := exec.Command(peers.Path(t, "helm"), args...)
	cmd.Env = peers.Env(home)
	cmd.Dir = home
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// untarHeaders lists an archive's headers in order.
func untarHeaders(t testing.TB, data []byte) []*tar.Header {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []*tar.Header
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hd)
	}
}
