package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/internal/testutil/objstore"
	"github.com/chartd/chartd/internal/testutil/pgtest"
	"github.com/chartd/chartd/internal/testutil/procs"
	"github.com/chartd/chartd/storage"
)

// replicated is one PostgreSQL database and one MinIO bucket that replicas
// of chartd share, as in the replicated deployment.
type replicated struct {
	s3     *objstore.MinIO
	bucket string
	dsn    string
}

func newReplicated(t *testing.T, dsn string) *replicated {
	t.Helper()
	s3 := objstore.StartMinIO(t)
	return &replicated{s3: s3, bucket: s3.Bucket(t), dsn: dsn}
}

// replica starts one more chartd on the shared stores.
func (c *replicated) replica(t *testing.T, extra ...string) *procs.Proc {
	t.Helper()
	args := append([]string{"--database-url=" + c.dsn, "--storage-url=" + c.s3.URL(c.bucket), "--depth=1"}, extra...)
	return chartdWith(t, procs.ChartdOptions{Env: c.s3.Env(), DataDir: t.TempDir()}, args...)
}

// blobKeys is the set of committed blob digests in the bucket.
func (c *replicated) blobKeys(t *testing.T) map[digest.Digest]bool {
	t.Helper()
	out := map[digest.Digest]bool{}
	for _, k := range c.s3.Keys(t, c.bucket, "blobs/") {
		if d, ok := storage.DigestOfKey(k); ok {
			out[d] = true
		}
	}
	return out
}

// blobRows is the set of digests the database records as stored.
func (c *replicated) blobRows(t *testing.T) map[digest.Digest]bool {
	t.Helper()
	db, err := sql.Open("pgx", c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT digest FROM blobs`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[digest.Digest]bool{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out[digest.Digest(d)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// whereIs says which of a blob's row, its link in repository name
// ("t/<repo>") and its object exist, for a failure message.
func (c *replicated) whereIs(t *testing.T, name string, d digest.Digest) string {
	db, err := sql.Open("pgx", c.dsn)
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	var row, link int
	_ = db.QueryRow(`SELECT count(*) FROM blobs WHERE digest = $1`, string(d)).Scan(&row)
	_ = db.QueryRow(`SELECT count(*) FROM repo_blobs rb JOIN repositories r ON r.id = rb.repository_id
		WHERE r.name = $1 AND rb.digest = $2`, strings.TrimPrefix(name, "t/"), string(d)).Scan(&link)
	var refs, manifests int
	_ = db.QueryRow(`SELECT count(*) FROM manifest_refs mr JOIN repositories r ON r.id = mr.repository_id
		WHERE r.name = $1 AND mr.digest = $2`, strings.TrimPrefix(name, "t/"), string(d)).Scan(&refs)
	_ = db.QueryRow(`SELECT count(*) FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = $1`,
		strings.TrimPrefix(name, "t/")).Scan(&manifests)
	return fmt.Sprintf("blob row %d, link %d, manifest refs to it %d, manifests in the repository %d, object %t",
		row, link, refs, manifests, c.blobKeys(t)[d])
}

// gcPasses counts the garbage collection passes a replica has logged, and
// the blobs they deleted.
func gcPasses(p *procs.Proc) (passes, blobs int) {
	for _, line := range strings.Split(p.Logs(), "\n") {
		var rec struct {
			Msg   string `json:"msg"`
			Blobs int    `json:"blobs"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "sqldb: garbage collected" {
			passes++
			blobs += rec.Blobs
		}
	}
	return passes, blobs
}

// waitGC waits until p has logged n more complete GC passes than it had.
func waitGC(t *testing.T, p *procs.Proc, n int) {
	t.Helper()
	before, _ := gcPasses(p)
	waitFor(t, func() bool { after, _ := gcPasses(p); return after >= before+n })
}

func ociRepo(t *testing.T, base, name string) *remote.Repository {
	t.Helper()
	r, err := remote.NewRepository(hostOf(base) + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	return r
}

// artifact is a small OCI artifact that is no chart: one layer, the empty
// config, and an annotation that makes its manifest unique.
type artifact struct {
	layer    []byte
	layerD   ocispec.Descriptor
	manifest []byte
	manD     ocispec.Descriptor
}

func newArtifact(layer []byte, unique string) artifact {
	a := artifact{layer: layer, layerD: content.NewDescriptorFromBytes("application/vnd.chartd.test.layer", layer)}
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: "application/vnd.chartd.test", Config: ocispec.DescriptorEmptyJSON,
		Layers: []ocispec.Descriptor{a.layerD}, Annotations: map[string]string{"unique": unique}}
	a.manifest, _ = json.Marshal(m)
	a.manD = content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, a.manifest)
	return a
}

// push pushes a as real clients do: blobs the registry says it has are not
// sent again, which is what races with garbage collection.
func (a artifact) push(ctx context.Context, r *remote.Repository, tag string) error {
	for _, b := range []struct {
		d    ocispec.Descriptor
		data []byte
	}{{ocispec.DescriptorEmptyJSON, ocispec.DescriptorEmptyJSON.Data}, {a.layerD, a.layer}} {
		ok, err := r.Blobs().Exists(ctx, b.d)
		if err != nil {
			return err
		}
		if !ok {
			if err := r.Blobs().Push(ctx, b.d, bytes.NewReader(b.data)); err != nil {
				return err
			}
		}
	}
	return r.PushReference(ctx, a.manD, bytes.NewReader(a.manifest), tag)
}

// pullCheck fetches a's manifest by tag and its layer, and compares them.
func (a artifact) pullCheck(ctx context.Context, r *remote.Repository, tag string) error {
	d, rc, err := r.FetchReference(ctx, tag)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", tag, err)
	}
	m, err := content.ReadAll(rc, d)
	rc.Close()
	if err != nil || !bytes.Equal(m, a.manifest) {
		return fmt.Errorf("manifest %s: %v (equal %t)", tag, err, bytes.Equal(m, a.manifest))
	}
	l, err := content.FetchAll(ctx, r.Blobs(), a.layerD)
	if err != nil || !bytes.Equal(l, a.layer) {
		return fmt.Errorf("layer of %s: %v", tag, err)
	}
	return nil
}

// ociStatus is the HTTP status and error code of a registry error.
func ociStatus(err error) (int, string) {
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		code := ""
		if len(er.Errors) > 0 {
			code = er.Errors[0].Code
		}
		return er.StatusCode, code
	}
	return 0, ""
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// TestChunkedUploadAcrossReplicas starts an OCI chunked upload on replica
// A, sends its second chunk and its commit to replica B, and pulls the
// chart it belongs to through A: the session lives in the shared database,
// its parts in the shared bucket.
func TestChunkedUploadAcrossReplicas(t *testing.T) {
	c := newReplicated(t, pgtest.DSN(t))
	a, b := c.replica(t), c.replica(t)
	tgz := charttest.Chart("chunky", "1.0.0", map[string]string{"README.md": noise(256 << 10)})
	half := len(tgz) / 2

	do := func(method, target string, body []byte, hdr map[string]string, want int) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, target, bytes.NewReader(body))
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
		msg, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("%s %s: %s %s", method, target, res.Status, msg)
		}
		return res
	}
	// Location is the session's path; the host is whichever replica the
	// load balancer picks next.
	on := func(base string, res *http.Response) string {
		t.Helper()
		loc, err := url.Parse(res.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return base + loc.RequestURI()
	}
	oct := map[string]string{"Content-Type": "application/octet-stream"}
	res := do("POST", a.URL+"/v2/t/chunky/blobs/uploads/", nil, nil, http.StatusAccepted)
	res = do("PATCH", on(a.URL, res), tgz[:half], map[string]string{"Content-Type": "application/octet-stream",
		"Content-Range": fmt.Sprintf("0-%d", half-1)}, http.StatusAccepted)
	// B learns the offset from the shared session.
	st := do("GET", on(b.URL, res), nil, nil, http.StatusNoContent)
	if got, want := st.Header.Get("Range"), fmt.Sprintf("0-%d", half-1); got != want {
		t.Fatalf("B reports range %q, want %q", got, want)
	}
	res = do("PATCH", on(b.URL, res), tgz[half:], map[string]string{"Content-Type": "application/octet-stream",
		"Content-Range": fmt.Sprintf("%d-%d", half, len(tgz)-1)}, http.StatusAccepted)
	commit := on(b.URL, res)
	sep := "?"
	if strings.Contains(commit, "?") {
		sep = "&"
	}
	layer := digest.FromBytes(tgz)
	do("PUT", commit+sep+"digest="+layer.String(), nil, oct, http.StatusCreated)

	// The rest of a Helm push, through B; the chart is then A's too.
	config := []byte(`{"name":"chunky","version":"1.0.0","apiVersion":"v2"}`)
	do("POST", b.URL+"/v2/t/chunky/blobs/uploads/?digest="+digest.FromBytes(config).String(), config, oct, http.StatusCreated)
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: content.NewDescriptorFromBytes("application/vnd.cncf.helm.config.v1+json", config),
		Layers: []ocispec.Descriptor{content.NewDescriptorFromBytes("application/vnd.cncf.helm.chart.content.v1.tar+gzip", tgz)}}
	mb, _ := json.Marshal(m)
	do("PUT", b.URL+"/v2/t/chunky/manifests/1.0.0", mb, map[string]string{"Content-Type": ocispec.MediaTypeImageManifest}, http.StatusCreated)
	if got := download(t, a.URL+"/t/charts/chunky-1.0.0.tgz"); !bytes.Equal(got, tgz) {
		t.Fatalf("A serves %d bytes, want the %d pushed in two chunks on two replicas", len(got), len(tgz))
	}
	if got, err := content.FetchAll(context.Background(), ociRepo(t, a.URL, "t/chunky").Blobs(), m.Layers[0]); err != nil || !bytes.Equal(got, tgz) {
		t.Fatalf("OCI pull of the layer through A: %v", err)
	}
}

// TestGCAgainstPushesOnBothReplicas runs garbage collection every quarter
// second with a 1 s grace on both replicas while clients push, verify and
// delete through both, over both protocols, reusing the same contents so
// that a push keeps meeting a blob GC is about to take. Every push that was
// accepted must be readable at once through the other replica, and every
// one kept must still be readable once GC has run again; GC must really
// have deleted blobs meanwhile, or the test proved nothing.
func TestGCAgainstPushesOnBothReplicas(t *testing.T) {
	c := newReplicated(t, pgtest.DSN(t))
	gc := []string{"--gc-interval=250ms", "--gc-grace=1s"}
	reps := []*procs.Proc{c.replica(t, gc...), c.replica(t, gc...)}
	ctx := context.Background()
	shared := [][]byte{randomBytes(32 << 10), randomBytes(32 << 10), randomBytes(32 << 10)}
	deadline := time.Now().Add(8 * time.Second)

	type kept struct {
		repo, tag string
		a         artifact
	}
	var (
		mu       sync.Mutex
		keep     []kept
		refused  int // pushes the registry turned down for a blob GC took: the client pushes again
		accepted int
		wg       sync.WaitGroup
	)
	// OCI workers: push (skipping blobs the registry has), verify through
	// the other replica, delete; every eighth is kept with a layer of its own.
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				from, other := reps[(w+i)%2], reps[(w+i+1)%2]
				name := fmt.Sprintf("t/gc%d", i%2)
				tag := fmt.Sprintf("w%d-%d", w, i)
				layer := shared[(i/3+w)%len(shared)]
				keepIt := i%8 == 7
				if keepIt {
					layer = randomBytes(8 << 10)
				}
				a := newArtifact(layer, tag)
				err := a.push(ctx, ociRepo(t, from.URL, name), tag)
				if status, code := ociStatus(err); err != nil {
					if (status == 400 && code == "MANIFEST_BLOB_UNKNOWN") || status == 503 {
						mu.Lock()
						refused++
						mu.Unlock()
						continue
					}
					t.Errorf("push %s:%s: %v", name, tag, err)
					return
				}
				if err := a.pullCheck(ctx, ociRepo(t, other.URL, name), tag); err != nil {
					t.Errorf("accepted push not readable through the other replica: %v (%s)", err, c.whereIs(t, name, a.layerD.Digest))
					return
				}
				mu.Lock()
				accepted++
				if keepIt {
					keep = append(keep, kept{name, tag, a})
				}
				mu.Unlock()
				if !keepIt {
					if err := ociRepo(t, other.URL, name).Delete(ctx, a.manD); err != nil {
						t.Errorf("delete %s@%s: %v", name, a.manD.Digest, err)
						return
					}
				}
			}
		}()
	}
	// ChartMuseum workers: the same chart bytes uploaded, read back through
	// the other replica, and deleted, over and over.
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tgz := charttest.Chart(fmt.Sprintf("gcchart%d", w), "1.0.0", nil)
			for i := 0; time.Now().Before(deadline); i++ {
				from, other := reps[(w+i)%2], reps[(w+i+1)%2]
				res, err := http.Post(from.URL+"/api/t/charts", "application/octet-stream", bytes.NewReader(tgz))
				if err != nil {
					t.Error(err)
					return
				}
				msg, _ := io.ReadAll(res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case 201:
				case 503:
					mu.Lock()
					refused++
					mu.Unlock()
					continue
				default:
					t.Errorf("upload: %d %s", res.StatusCode, msg)
					return
				}
				got, err := http.Get(other.URL + fmt.Sprintf("/t/charts/gcchart%d-1.0.0.tgz", w))
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(got.Body)
				got.Body.Close()
				if got.StatusCode != 200 || !bytes.Equal(body, tgz) {
					t.Errorf("accepted upload not readable through the other replica: %d", got.StatusCode)
					return
				}
				mu.Lock()
				accepted++
				mu.Unlock()
				req, _ := http.NewRequest("DELETE", other.URL+fmt.Sprintf("/api/t/charts/gcchart%d/1.0.0", w), nil)
				if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
					t.Errorf("delete chart: %v %v", err, res)
					return
				} else {
					res.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// What was kept survives more passes on both replicas.
	waitGC(t, reps[0], 2)
	waitGC(t, reps[1], 2)
	for _, k := range keep {
		for _, r := range reps {
			if err := k.a.pullCheck(ctx, ociRepo(t, r.URL, k.repo), k.tag); err != nil {
				t.Errorf("kept artifact lost after GC: %v", err)
			}
		}
	}
	_, da := gcPasses(reps[0])
	_, db := gcPasses(reps[1])
	t.Logf("accepted %d pushes, %d refused for a collected blob and pushed again; GC deleted %d blobs; %d kept",
		accepted, refused, da+db, len(keep))
	if da+db == 0 {
		t.Fatal("GC deleted nothing during the run: the race was never exercised")
	}
	if accepted < 20 {
		t.Fatalf("only %d pushes accepted", accepted)
	}
	if strings.Contains(reps[0].Logs()+reps[1].Logs(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s\n%s", reps[0].Logs(), reps[1].Logs())
	}
	// Once the replicas stopped, every committed blob has its row, and the
	// other way round.
	for _, r := range reps {
		r.Stop()
	}
	checkBlobsAgree(t, c, false)
}

// checkBlobsAgree fails unless no row that anything references points at
// nothing. Two leftovers are allowed, because the next GC pass removes
// them (TestKill9ReplicaMidGC checks that it does): a row without its
// object that nothing references (a pass cut off, by a kill or a
// shutdown, between deleting an object and committing the row's
// deletion), and an object without a row (a push whose link lost a race
// with GC and was refused; GC adopts such objects once the grace is over).
// strict also fails on those: for a store that GC has just swept.
func checkBlobsAgree(t *testing.T, c *replicated, strict bool) {
	t.Helper()
	keys, rows := c.blobKeys(t), c.blobRows(t)
	var noRow, lost []string
	for d := range keys {
		if !rows[d] {
			noRow = append(noRow, string(d))
		}
	}
	db, err := sql.Open("pgx", c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for d := range rows {
		if keys[d] {
			continue
		}
		var refs int
		if err := db.QueryRow(`SELECT (SELECT count(*) FROM repo_blobs WHERE digest = $1) + (SELECT count(*) FROM manifest_refs WHERE digest = $1)
			+ (SELECT count(*) FROM manifests WHERE digest = $1)
			+ (SELECT count(*) FROM chart_versions WHERE $1 IN (digest, prov_digest, manifest_digest, config_digest))`, string(d)).Scan(&refs); err != nil {
			t.Fatal(err)
		}
		if refs > 0 {
			lost = append(lost, string(d))
		}
	}
	if !strict {
		noRow = nil
	}
	if len(noRow)+len(lost) > 0 {
		t.Errorf("bucket and database disagree: %d objects, %d rows; objects without a row %v; referenced rows without an object %v",
			len(keys), len(rows), noRow, lost)
	}
}
