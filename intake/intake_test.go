package intake_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/internal/helmoci"
	"github.com/chartd/chartd/internal/testutil/charttest"
	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// env is an intake over real stores: SQLite and a file bucket.
type env struct {
	dir   string
	blobs *storage.BlobStore
	db    *sqldb.DB
	in    *intake.Intake
}

func newEnv(t testing.TB, mutate func(*intake.Config)) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	blobs, err := storage.OpenBlobs(ctx, "file://"+filepath.Join(dir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	db, err := sqldb.Open(ctx, filepath.Join(dir, "meta.db"), nil, sqldb.WithBlobStater(blobs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := intake.Config{Blobs: blobs, Meta: db, Limits: intake.Limits{NestedQuota: true}}
	if mutate != nil {
		mutate(&cfg)
	}
	in, err := intake.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{dir: dir, blobs: blobs, db: db, in: in}
}

// committed counts the blobs in the bucket.
func (e *env) committed(t testing.TB) int {
	t.Helper()
	n := 0
	root := filepath.Join(e.dir, "blobs")
	err := filepath.WalkDir(filepath.Join(root, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if _, blob := storage.DigestOfKey(filepath.ToSlash(rel)); blob && !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConfigValidate(t *testing.T) {
	err := intake.Config{Limits: intake.Limits{MaxArchiveSize: -1, MaxObjects: -1}}.Validate()
	for _, want := range []string{"Blobs", "Meta", "MaxArchiveSize", "MaxObjects"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, does not report %s", err, want)
		}
	}
}

func TestNewPolicy(t *testing.T) {
	_, err := intake.NewPolicy(intake.PolicyConfig{Mode: "strict", Tenants: map[string]intake.TenantPolicy{"t": {Mode: "maybe"}}})
	if err == nil || !strings.Contains(err.Error(), `"strict"`) || !strings.Contains(err.Error(), `"maybe"`) {
		t.Errorf("NewPolicy = %v, want both bad modes reported", err)
	}
	p, err := intake.NewPolicy(intake.PolicyConfig{Mode: intake.PolicyVerify, Tenants: map[string]intake.TenantPolicy{"t": {Mode: intake.PolicyRequired}, "u": {}}})
	if err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{"t": intake.PolicyRequired, "u": intake.PolicyVerify, "other": intake.PolicyVerify} {
		if got := p.Mode(tenant); got != want {
			t.Errorf("Mode(%q) = %q, want %q", tenant, got, want)
		}
	}
	var none *intake.Policy
	if none.Mode("t") != intake.PolicyOff || none.Signer() != nil {
		t.Error("a nil policy is not off")
	}
}

// A refusal Receive decides commits nothing: the archive streams into a
// temporary blob that is dropped.
func TestReceiveCommitsOnlyAcceptedArchives(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *intake.Config) { c.Limits.MaxArchiveSize = 8 << 10 })
	root := intake.Target{}
	for _, tt := range []struct {
		name   string
		target intake.Target
		tgz    []byte
		want   error
	}{
		{"long name", root, charttest.Chart(strings.Repeat("x", 129), "1.0.0", nil), intake.ErrInvalidName},
		{"upper case", root, charttest.Chart("Web", "1.0.0", nil), intake.ErrInvalidName},
		{"reserved path", intake.Target{Path: "charts"}, charttest.Chart("web", "1.0.0", nil), intake.ErrInvalidName},
		{"version without a tag", root, charttest.Chart("web", "1.0.0-"+strings.Repeat("a", 130), nil), intake.ErrInvalidVersion},
		{"too large", root, charttest.Chart("web", "1.0.0", map[string]string{"big.txt": noise(16 << 10)}), chart.ErrTooLarge},
		{"not gzip", root, []byte("plain text"), chart.ErrBadArchive},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.in.Receive(ctx, tt.target, bytes.NewReader(tt.tgz), false)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Receive = %v, want %v", err, tt.want)
			}
			if n := e.committed(t); n != 0 {
				t.Errorf("%d blobs committed for a refused archive", n)
			}
		})
	}
	rc, err := e.in.Receive(ctx, root, bytes.NewReader(charttest.Chart("web", "1.0.0", nil)), false)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Metadata().Name != "web" || e.committed(t) != 1 {
		t.Errorf("accepted archive: %+v, %d blobs", rc.Metadata(), e.committed(t))
	}
	// Received but never committed: no version exists.
	tn, err := e.db.EnsureTenant(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ChartVersion(ctx, tn.ID, "web", "1.0.0"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a received archive is visible: %v", err)
	}
}

// Under signaturePolicy required without a signer, an archive that can
// have no provenance file is refused before a byte is stored.
func TestReceiveUnsignedUnderRequired(t *testing.T) {
	ctx := context.Background()
	p, err := intake.NewPolicy(intake.PolicyConfig{Mode: intake.PolicyRequired})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *intake.Config) { c.Policy = p })
	tgz := charttest.Chart("web", "1.0.0", nil)
	if _, err := e.in.Receive(ctx, intake.Target{}, bytes.NewReader(tgz), true); !errors.Is(err, intake.ErrUnsigned) {
		t.Fatalf("Receive of an unsigned-for-sure archive: %v", err)
	}
	if n := e.committed(t); n != 0 {
		t.Errorf("%d blobs committed", n)
	}
	// One that a provenance file may follow is received, and refused at
	// Commit when none came.
	rc, err := e.in.Receive(ctx, intake.Target{}, bytes.NewReader(tgz), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.in.Commit(ctx, rc, nil, false); !errors.Is(err, intake.ErrUnsigned) {
		t.Errorf("Commit without a provenance file: %v", err)
	}
}

// Import commits both faces: the index row and Helm's manifest, tagged.
func TestImportBuildsBothFaces(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	tgz := charttest.Chart("web", "1.0.0+b.1", nil)
	cv, err := e.in.Import(ctx, intake.Target{Tenant: "org", Path: "org/sub"}, bytes.NewReader(tgz), nil)
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := e.db.Tenant(ctx, "org/sub")
	repo, err := e.db.Repository(ctx, tn.ID, "web", false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.db.Manifest(ctx, repo.ID, "1.0.0_b.1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Digest != cv.ManifestDigest || m.Chart == nil || m.Chart.Digest != digest.FromBytes(tgz) || !helmoci.IsConfigMediaType(m.ConfigMediaType) {
		t.Errorf("OCI face %+v of %+v", m, cv)
	}
	if _, err := e.in.Import(ctx, intake.Target{Tenant: "org", Path: "org/sub"}, bytes.NewReader(tgz), nil); !errors.Is(err, storage.ErrExists) {
		t.Errorf("a second import: %v, want ErrExists", err)
	}
	if _, err := e.in.Import(ctx, intake.Target{Tenant: "other", Path: "org/sub"}, bytes.NewReader(tgz), nil); err == nil {
		t.Error("a path that is not below its tenant was accepted")
	}
}

// noise is incompressible text of n bytes.
func noise(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// largeChart is a chart whose archive is about n bytes of incompressible
// files of at most 4 MiB each (the loader's per-file cap is 5 MiB).
func largeChart(t testing.TB, name, version string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(path string, body []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name + "/" + path, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	add("Chart.yaml", []byte("apiVersion: v2\nname: "+name+"\nversion: "+version+"\n"))
	for i := 0; n > 0; i++ {
		size := min(n, 4<<20)
		body := make([]byte, size)
		_, _ = rand.Read(body)
		add(fmt.Sprintf("files/f%d.bin", i), body)
		n -= size
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pushBlobs stores and links blobs in a repository, as an OCI push does.
func (e *env) pushBlobs(t testing.TB, repo storage.Repository, bs ...[]byte) {
	t.Helper()
	ctx := context.Background()
	for _, b := range bs {
		d, err := e.blobs.Push(ctx, "", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.db.LinkBlob(ctx, repo.ID, d); err != nil {
			t.Fatal(err)
		}
	}
}

// pushed is an OCI push of tgz to <path>/<name> as the registry hands it
// to the intake.
func (e *env) pushed(t testing.TB, path string, tgz []byte, configType string, tags ...string) intake.Push {
	t.Helper()
	ctx := context.Background()
	info, err := chart.ReadArchiveMetadata(ctx, bytes.NewReader(tgz), chart.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	md := info.Metadata
	tn, err := e.db.EnsureTenant(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := e.db.Repository(ctx, tn.ID, md.Name, true)
	if err != nil {
		t.Fatal(err)
	}
	config, _ := helmoci.Config(md)
	e.pushBlobs(t, repo, tgz, config)
	m := helmoci.Manifest(md, ocispec.Descriptor{Digest: digest.FromBytes(config), Size: int64(len(config))},
		ocispec.Descriptor{Digest: digest.FromBytes(tgz), Size: int64(len(tgz))}, nil, time.Time{})
	m.MediaType = ocispec.MediaTypeImageManifest
	if configType != "" {
		m.Config.MediaType = configType
	}
	body, _ := json.Marshal(m)
	row := storage.Manifest{RepositoryID: repo.ID, Digest: digest.FromBytes(body), Size: int64(len(body)), MediaType: ocispec.MediaTypeImageManifest,
		ConfigDigest: m.Config.Digest, ConfigMediaType: m.Config.MediaType, Blobs: []digest.Digest{m.Config.Digest, m.Layers[0].Digest},
		Created: time.Now().UTC()}
	return intake.Push{Target: intake.Target{Tenant: path, Path: path}, Repository: repo, Manifest: row, Body: body, Tags: tags}
}

// The chart layer of an OCI push streams through the loader: committing a
// 24 MiB layer allocates a small fraction of it (reading it into memory,
// as the registry did, allocates at least the layer).
func TestPushManifestStreamsTheChartLayer(t *testing.T) {
	const size = 24 << 20
	e := newEnv(t, nil)
	p := e.pushed(t, "org", largeChart(t, "big", "1.0.0", size), "")
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tag, err := e.in.PushManifest(context.Background(), p)
	runtime.ReadMemStats(&after)
	if err != nil || tag != "1.0.0" {
		t.Fatalf("PushManifest = %q, %v", tag, err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("PushManifest of a %d MiB chart layer allocated %.1f MiB", size>>20, float64(alloc)/(1<<20))
	if alloc > size/4 {
		t.Errorf("PushManifest allocated %d bytes for a %d-byte chart layer: it is buffered", alloc, size)
	}
}

// A config media type with parameters is still Helm's: the chart is read
// and the rules apply (here: the name must be the repository's).
func TestPushManifestConfigTypeWithParameters(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	p := e.pushed(t, "", charttest.Chart("web", "1.0.0", nil), helmoci.ConfigMediaType+"; charset=utf-8")
	if !intake.IsChart(p.Manifest) {
		t.Fatal("IsChart does not recognise the config media type with a parameter")
	}
	p.Repository.Name = "other"
	if _, err := e.in.PushManifest(ctx, p); !errors.Is(err, intake.ErrMismatch) {
		t.Errorf("chart web pushed to repository other: %v, want ErrMismatch", err)
	}
}

// An OCI push of a version that exists: the same archive is accepted
// again; other content is ErrExists unless overwriting is allowed.
func TestPushManifestRepush(t *testing.T) {
	ctx := context.Background()
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow-overwrite=", allow), func(t *testing.T) {
			e := newEnv(t, func(c *intake.Config) { c.Limits.AllowOverwrite = allow })
			first := charttest.Chart("web", "1.0.0", nil)
			if _, err := e.in.PushManifest(ctx, e.pushed(t, "", first, "", "1.0.0")); err != nil {
				t.Fatal(err)
			}
			if _, err := e.in.PushManifest(ctx, e.pushed(t, "", first, "", "1.0.0")); err != nil {
				t.Errorf("the same chart again: %v", err)
			}
			other := charttest.Chart("web", "1.0.0", map[string]string{"README.md": "x"})
			_, err := e.in.PushManifest(ctx, e.pushed(t, "", other, "", "1.0.0"))
			if allow != (err == nil) || (!allow && !errors.Is(err, storage.ErrExists)) {
				t.Errorf("other content: %v", err)
			}
			if _, err := e.in.PushManifest(ctx, e.pushed(t, "", first, "", "latest")); !errors.Is(err, intake.ErrMismatch) {
				t.Errorf("a chart tagged with something else than its version: %v", err)
			}
		})
	}
}
