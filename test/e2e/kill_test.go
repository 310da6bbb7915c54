package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/content"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/pgtest"
)

// TestKill9ReplicaMidUpload kills a replica (SIGKILL) while a ChartMuseum
// upload and an OCI chunked upload are half sent to it. Nothing partial is
// visible through the other replica or through the restarted one, the
// chart stored before is intact, the chart can be pushed again, and the
// abandoned session's parts are reclaimed once its TTL ends.
func TestKill9ReplicaMidUpload(t *testing.T) {
	c := newReplicated(t, pgtest.DSN(t))
	a, b := c.replica(t), c.replica(t)
	before := charttest.Chart("stay", "1.0.0", nil)
	upload(t, a.URL+"/api/t/charts", before)

	// A chunked OCI upload with its first chunk accepted ...
	tgz := charttest.Chart("crash", "1.0.0", map[string]string{"README.md": noise(1 << 20)})
	half := len(tgz) / 2
	res, err := http.Post(a.URL+"/v2/t/crash/blobs/uploads/", "", nil)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("start upload: %v %v", err, res)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	req, _ := http.NewRequest("PATCH", a.URL+loc.RequestURI(), bytes.NewReader(tgz[:half]))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("0-%d", half-1))
	if res, err = http.DefaultClient.Do(req); err != nil || res.StatusCode != 202 {
		t.Fatalf("first chunk: %v %v", err, res)
	}
	res.Body.Close()
	loc, _ = url.Parse(res.Header.Get("Location"))
	if n := len(c.s3.Keys(t, c.bucket, "_uploads/")); n == 0 {
		t.Fatal("the accepted chunk is not in the bucket")
	}
	// ... its second chunk, and a chart through the ChartMuseum API, each
	// cut off halfway by the kill.
	for _, r := range []string{
		fmt.Sprintf("PATCH %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Range: %d-%d\r\nContent-Length: %d\r\n\r\n",
			loc.RequestURI(), half, len(tgz)-1, len(tgz)-half),
		fmt.Sprintf("POST /api/t/charts HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(tgz)),
	} {
		conn, err := net.Dial("tcp", hostOf(a.URL))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := fmt.Fprint(conn, r); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(tgz[half : half+half/2]); err != nil {
			t.Fatal(err)
		}
	}
	a.Kill()

	check := func(base string) {
		t.Helper()
		if v := versions(t, base+"/t/index.yaml"); len(v["crash"]) != 0 || len(v["stay"]) != 1 {
			t.Errorf("%s after the kill: %v", base, v)
		}
		if code, _ := httpDo(t, "GET", base+"/t/charts/crash-1.0.0.tgz", nil, nil); code != 404 {
			t.Errorf("partial chart downloadable: %d", code)
		}
		if got := download(t, base+"/t/charts/stay-1.0.0.tgz"); !bytes.Equal(got, before) {
			t.Error("the chart stored before the kill changed")
		}
	}
	check(b.URL)
	if _, err := content.FetchAll(context.Background(), ociRepo(t, b.URL, "t/crash").Blobs(),
		content.NewDescriptorFromBytes("application/octet-stream", tgz)); err == nil {
		t.Error("the half-pushed blob is readable")
	}
	// The restarted replica expires the abandoned session, parts and all.
	a2 := c.replica(t, "--upload-ttl=1s", "--gc-interval=250ms", "--gc-grace=1s")
	check(a2.URL)
	waitFor(t, func() bool { return len(c.s3.Keys(t, c.bucket, "_uploads/")) == 0 })
	upload(t, a2.URL+"/api/t/charts", tgz)
	if got := download(t, b.URL+"/t/charts/crash-1.0.0.tgz"); !bytes.Equal(got, tgz) {
		t.Error("the chart pushed again after the kill reads back wrong")
	}
	waitGC(t, a2, 2)
	a2.Stop()
	b.Stop()
	checkBlobsAgree(t, c, false)
}

// TestKill9ReplicaMidGC kills a replica while its garbage collection is
// deleting unreferenced blobs, then restarts it. The charts that are
// referenced are all intact, and the next passes reclaim everything the
// killed pass left, so the bucket and the database agree again.
func TestKill9ReplicaMidGC(t *testing.T) {
	c := newReplicated(t, pgtest.DSN(t))
	a := c.replica(t)
	ctx := context.Background()
	var kept [][]byte
	for i := range 5 {
		tgz := charttest.Chart("kept", fmt.Sprintf("1.0.%d", i), nil)
		upload(t, a.URL+"/api/t/charts", tgz)
		kept = append(kept, tgz)
	}
	// Blobs pushed to a repository and never used by a manifest: GC
	// takes them once the grace has passed.
	const junk = 400
	junkRepo := ociRepo(t, a.URL, "t/junk")
	junkDigests := map[digest.Digest]bool{}
	for i := range junk {
		b := []byte(fmt.Sprintf("junk %d %s", i, noise(64)))
		d := content.NewDescriptorFromBytes("application/octet-stream", b)
		if err := junkRepo.Blobs().Push(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		junkDigests[d.Digest] = true
	}
	all := len(c.blobKeys(t))
	// The grace is a time that has to pass; nothing else signals it.
	<-time.After(1200 * time.Millisecond)

	g := c.replica(t, "--gc-interval=100ms", "--gc-grace=1s")
	waitFor(t, func() bool { return len(c.blobKeys(t)) < all })
	g.Kill()
	left := 0
	for d := range c.blobKeys(t) {
		if junkDigests[d] {
			left++
		}
	}
	t.Logf("killed GC with %d of %d junk blobs left", left, junk)
	if left == 0 {
		t.Fatal("GC finished before the kill: nothing was interrupted")
	}
	for i, tgz := range kept {
		if got := download(t, a.URL+fmt.Sprintf("/t/charts/kept-1.0.%d.tgz", i)); !bytes.Equal(got, tgz) {
			t.Errorf("kept-1.0.%d damaged by the killed GC", i)
		}
	}
	g2 := c.replica(t, "--gc-interval=100ms", "--gc-grace=1s")
	waitGC(t, g2, 2)
	for d := range c.blobKeys(t) {
		if junkDigests[d] {
			t.Errorf("junk blob %s survives the passes after the kill", d)
		}
	}
	for i, tgz := range kept {
		if got := download(t, g2.URL+fmt.Sprintf("/t/charts/kept-1.0.%d.tgz", i)); !bytes.Equal(got, tgz) {
			t.Errorf("kept-1.0.%d lost after GC", i)
		}
	}
	if strings.Contains(g2.Logs(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", g2.Logs())
	}
	g2.Stop()
	a.Stop()
	checkBlobsAgree(t, c, true)
}
