package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/chartd/chartd/internal/testutil/objstore"
)

// TestDriversAgainstRealServers runs the store's whole contract on every
// driver chartd offers, each against a real server: local files, memory,
// S3 (MinIO), Azure Blob (Azurite) and GCS (fake-gcs-server). The servers
// are started here; a missing one fails the test and names `make tools`.
func TestDriversAgainstRealServers(t *testing.T) {
	servers := []struct {
		name string
		open func(t *testing.T) string // returns a fresh bucket's URL
	}{
		{"file", func(t *testing.T) string { return "file://" + t.TempDir() }},
		{"mem", func(*testing.T) string { return "mem://" }},
		{"s3-minio", func(t *testing.T) string { return onServer(t, objstore.StartMinIO(t)) }},
		{"azblob-azurite", func(t *testing.T) string { return onServer(t, objstore.StartAzurite(t)) }},
		{"gs-fake-gcs-server", func(t *testing.T) string { return onServer(t, objstore.StartFakeGCS(t)) }},
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := OpenBlobs(ctx, srv.open(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			t.Run("blobs", func(t *testing.T) { driverBlobs(t, s) })
			t.Run("parts", func(t *testing.T) { driverParts(t, s) })
		})
	}
}

// onServer points this process's SDKs at the server and returns a fresh
// bucket's URL.
func onServer(t *testing.T, srv objstore.Server) string {
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return srv.URL(srv.Bucket(t))
}

func driverBlobs(t *testing.T, s *BlobStore) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("chartd "), 40000) // 280 kB: more than one write buffer
	d := digest.FromBytes(data)
	desc, err := s.Push(ctx, d, bytes.NewReader(data))
	if err != nil || desc.Size != int64(len(data)) {
		t.Fatalf("Push known digest: %+v %v", desc, err)
	}
	if got, err := s.Stat(ctx, d); err != nil || got.Size != int64(len(data)) {
		t.Fatalf("Stat: %+v %v", got, err)
	}
	if got := fetch(t, s, d, 0, -1); !bytes.Equal(got, data) {
		t.Fatalf("Fetch returned %d bytes, want %d", len(got), len(data))
	}
	if got := fetch(t, s, d, 7, 14); string(got) != "chartd chartd " {
		t.Errorf("FetchRange(7, 14) = %q", got)
	}
	// Unknown digest: staged, hashed, committed under its digest.
	other := []byte("a blob whose digest the pusher does not know")
	desc, err = s.Push(ctx, "", bytes.NewReader(other))
	if err != nil || desc.Digest != digest.FromBytes(other) {
		t.Fatalf("Push unknown digest: %+v %v", desc, err)
	}
	// A wrong digest commits nothing.
	wrong := digest.FromString("something else")
	if _, err := s.Push(ctx, wrong, strings.NewReader("not that")); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Push wrong digest: %v, want ErrDigestMismatch", err)
	}
	if _, err := s.Stat(ctx, wrong); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat after a refused push: %v, want ErrNotFound", err)
	}
	// Pushing an existing blob leaves it as it was.
	if _, err := s.Push(ctx, d, bytes.NewReader(data)); err != nil {
		t.Fatalf("Push again: %v", err)
	}
	var walked []digest.Digest
	if err := s.Walk(ctx, func(b StoredBlob) error { walked = append(walked, b.Digest); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []digest.Digest{d, digest.FromBytes(other)}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, walked); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
	if err := s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat after Delete: %v", err)
	}
	if _, err := s.Fetch(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Errorf("Fetch after Delete: %v", err)
	}
	if err := s.Delete(ctx, d); err != nil {
		t.Errorf("Delete of a missing blob: %v", err)
	}
}

func fetch(t *testing.T, s *BlobStore, d digest.Digest, off, n int64) []byte {
	t.Helper()
	r, err := s.FetchRange(context.Background(), d, off, n)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func driverParts(t *testing.T, s *BlobStore) {
	ctx := context.Background()
	chunks := []string{strings.Repeat("x", 100000), strings.Repeat("y", 5000), "z"}
	for i, c := range chunks {
		if n, err := s.PutPart(ctx, "upload1", i, strings.NewReader(c)); err != nil || n != int64(len(c)) {
			t.Fatalf("PutPart %d: %d %v", i, n, err)
		}
	}
	whole := strings.Join(chunks, "")
	desc, err := s.ComposeParts(ctx, "upload1", len(chunks), digest.FromString(whole))
	if err != nil || desc.Digest != digest.FromString(whole) || desc.Size != int64(len(whole)) {
		t.Fatalf("ComposeParts: %+v %v", desc, err)
	}
	if got := fetch(t, s, desc.Digest, 0, -1); string(got) != whole {
		t.Errorf("composed blob differs: %d bytes", len(got))
	}
	if err := s.DeleteParts(ctx, "upload1", len(chunks)); err != nil {
		t.Errorf("DeleteParts: %v", err)
	}
}

