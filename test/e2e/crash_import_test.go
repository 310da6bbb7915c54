package e2e

import (
	"bytes"
	"fmt"
	"github.com/chartd/chartd/storage"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/internal/testutil/charttest"
)

func getIndex(t *testing.T, url string) *index.File {
	t.Helper()
	code, b := httpDo(t, "GET", url, nil, nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, b)
	}
	f, err := index.Load(b)
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	return f
}

// TestKill9MidUpload kills chartd while a chart is half uploaded and checks
// that it restarts cleanly with no partial chart anywhere.
func TestKill9MidUpload(t *testing.T) {
	data := t.TempDir()
	srv := startChartd(t, data)
	// Incompressible content, so half the archive is still a real amount of data.
	tgz := charttest.Chart("crash", "1.0.0", map[string]string{"README.md": noise(2 << 20)})

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/charts HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(tgz))
	if _, err := conn.Write(tgz[:len(tgz)/2]); err != nil {
		t.Fatal(err)
	}
	// Wait until the server is writing the upload into storage, then kill
	// it without warning.
	waitFor(t, func() bool { return countFiles(filepath.Join(data, "storage")) > 0 })
	srv.Kill()

	srv2 := startChartd(t, data)
	if idx := getIndex(t, srv2.URL+"/index.yaml"); len(idx.Entries) != 0 {
		t.Fatalf("partial chart visible after restart: %+v", idx.Entries)
	}
	if code, _ := httpDo(t, "GET", srv2.URL+"/charts/crash-1.0.0.tgz", nil, nil); code != 404 {
		t.Errorf("download after crash: %d", code)
	}
	// No committed blob holds the partial bytes.
	_ = filepath.WalkDir(filepath.Join(data, "storage", "blobs"), func(p string, d os.DirEntry, err error) error {
		// A staging name beside a blob is not one until it is linked; the
		// store's sweep removes a stale one.
		rel, _ := filepath.Rel(filepath.Join(data, "storage"), p)
		if _, blob := storage.DigestOfKey(filepath.ToSlash(rel)); err == nil && !d.IsDir() && blob {
			t.Errorf("committed blob after crash: %s", p)
		}
		return nil
	})
	if code, b := httpDo(t, "POST", srv2.URL+"/api/charts", bytes.NewReader(tgz), nil); code != 201 {
		t.Fatalf("upload after restart: %d %s", code, b)
	}
	if idx := getIndex(t, srv2.URL+"/index.yaml"); len(idx.Entries["crash"]) != 1 {
		t.Errorf("index after re-upload: %+v", idx.Entries)
	}
}

// TestAdoptChartMuseumStorage fills a store with real ChartMuseum, then
// points chartd at the same directory with ChartMuseum's flags.
func TestAdoptChartMuseumStorage(t *testing.T) {
	store := t.TempDir()
	cm := startChartMuseum(t, store, "--depth=1")
	charts := map[string][]byte{
		"a/one-1.0.0.tgz": charttest.Chart("one", "1.0.0", nil),
		"a/one-1.1.0.tgz": charttest.Chart("one", "1.1.0", nil),
		"b/two-0.1.0.tgz": charttest.Chart("two", "0.1.0", nil),
	}
	for key, tgz := range charts {
		tenant := strings.Split(key, "/")[0]
		if code, b := httpDo(t, "POST", cm.URL+"/api/"+tenant+"/charts", bytes.NewReader(tgz), nil); code != 201 {
			t.Fatalf("ChartMuseum upload %s: %d %s", key, code, b)
		}
	}
	cm.Kill()
	before := snapshot(t, store)

	srv := startChartd(t, t.TempDir(), "--storage=local", "--storage-local-rootdir="+store, "--depth=1")
	if idx := getIndex(t, srv.URL+"/a/index.yaml"); len(idx.Entries["one"]) != 2 {
		t.Errorf("tenant a: %+v", idx.Entries)
	}
	if idx := getIndex(t, srv.URL+"/b/index.yaml"); len(idx.Entries["two"]) != 1 {
		t.Errorf("tenant b: %+v", idx.Entries)
	}
	code, b := httpDo(t, "GET", srv.URL+"/a/charts/one-1.1.0.tgz", nil, nil)
	if code != 200 || !bytes.Equal(b, charts["a/one-1.1.0.tgz"]) {
		t.Errorf("download adopted chart: %d", code)
	}
	// Nothing ChartMuseum wrote was moved or deleted.
	after := snapshot(t, store)
	for k, v := range before {
		if !bytes.Equal(after[k], v) {
			t.Errorf("%s changed or vanished", k)
		}
	}
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, "blobs/") || strings.HasPrefix(rel, "_") {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func noise(n int) string {
	var b strings.Builder
	x := uint64(88172645463325252)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fmt.Fprintf(&b, "%016x", x)
	}
	return b.String()
}

func countFiles(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// waitFor polls cond with a bounded deadline: the only signal a crashed or
// foreign process gives is the state it leaves behind.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("condition not reached in 20s")
		}
	}
}
