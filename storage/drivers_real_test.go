package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

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
			t.Run("identity", func(t *testing.T) { driverIdentity(t, s) })
			t.Run("journal", func(t *testing.T) { driverJournal(t, s) })
			t.Run("lease", func(t *testing.T) { driverLease(t, s) })
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
	var parts []string
	for i, c := range chunks {
		part, n, err := s.PutPart(ctx, "upload1", strings.NewReader(c))
		if err != nil || n != int64(len(c)) {
			t.Fatalf("PutPart %d: %d %v", i, n, err)
		}
		parts = append(parts, part)
	}
	whole := strings.Join(chunks, "")
	desc, err := s.ComposeParts(ctx, "upload1", parts, digest.FromString(whole))
	if err != nil || desc.Digest != digest.FromString(whole) || desc.Size != int64(len(whole)) {
		t.Fatalf("ComposeParts: %+v %v", desc, err)
	}
	if got := fetch(t, s, desc.Digest, 0, -1); string(got) != whole {
		t.Errorf("composed blob differs: %d bytes", len(got))
	}
	if err := s.DeleteParts(ctx, "upload1"); err != nil {
		t.Errorf("DeleteParts: %v", err)
	}
}

func driverIdentity(t *testing.T, s *BlobStore) {
	ctx := context.Background()
	if id, err := s.StoreID(ctx); err != nil || id != "" {
		t.Fatalf("StoreID of a fresh store = %q, %v", id, err)
	}
	// Processes starting together on an empty bucket agree on one identity:
	// the write is create-only.
	const n = 4
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			if ids[i], err = s.InitStoreID(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] || id == "" {
			t.Fatalf("identities %q: want one", ids)
		}
	}
	if id, err := s.StoreID(ctx); err != nil || id != ids[0] {
		t.Errorf("StoreID = %q, %v; want %q", id, err, ids[0])
	}
	if since, err := s.SharedDatabase(ctx); err != nil || !since.IsZero() {
		t.Errorf("SharedDatabase of a store never served so = %v, %v", since, err)
	}
	for range 2 {
		if err := s.MarkSharedDatabase(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if since, err := s.SharedDatabase(ctx); err != nil || since.IsZero() {
		t.Errorf("SharedDatabase after the mark = %v, %v", since, err)
	}
}

func driverJournal(t *testing.T, s *BlobStore) {
	ctx := context.Background()
	chart := func(v string, del bool) MetaRecord {
		return MetaRecord{Chart: &ChartRecord{Tenant: "t", Name: "c", Version: v, Deleted: del, Digest: digest.FromString(v)}}
	}
	if err := s.WriteSnapshot(ctx, 0, "db1", func(yield func(MetaRecord) error) error { return yield(chart("0", false)) }); err != nil {
		t.Fatal(err)
	}
	for n, recs := range [][]MetaRecord{{chart("1", false)}, {chart("2", false), chart("0", true)}} {
		if err := s.AppendJournal(ctx, uint64(n+1), "db1", recs); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(JournalState{Snapshots: []uint64{0}, Entries: []uint64{1, 2}}, st); diff != "" {
		t.Fatalf("Journal (-want +got):\n%s", diff)
	}
	replay := func(st JournalState) ([]string, uint64) {
		var got []string
		last, err := s.ReplayJournal(ctx, st, func(r MetaRecord) error {
			got = append(got, r.Chart.Version+map[bool]string{true: "-", false: "+"}[r.Chart.Deleted])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, last
	}
	if got, last := replay(st); last != 2 || !cmp.Equal(got, []string{"0+", "1+", "2+", "0-"}) {
		t.Errorf("replay = %v up to %d", got, last)
	}
	if w, err := s.JournalWriter(ctx, st); err != nil || w != "db1" {
		t.Errorf("JournalWriter = %q, %v", w, err)
	}
	// A snapshot at 2 covers the entries; trimming leaves only it.
	if err := s.WriteSnapshot(ctx, 2, "db1", func(yield func(MetaRecord) error) error {
		for _, v := range []string{"1", "2"} {
			if err := yield(chart(v, false)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Journal(ctx)
	if err := s.TrimJournal(ctx, st, 2); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Journal(ctx)
	if diff := cmp.Diff(JournalState{Snapshots: []uint64{2}}, st); diff != "" {
		t.Errorf("after trim (-want +got):\n%s", diff)
	}
	if got, last := replay(st); last != 2 || !cmp.Equal(got, []string{"1+", "2+"}) {
		t.Errorf("replay after trim = %v up to %d", got, last)
	}
}

func driverLease(t *testing.T, s *BlobStore) {
	ctx := context.Background()
	// The first holder is a live process other than this one (the test's
	// parent), as a second pod would see a first.
	first, err := s.AcquireLease(ctx, LeaseHolder{PID: os.Getppid(), Database: "/a/chartd.db"}, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.AcquireLease(ctx, LeaseHolder{Database: "/b/chartd.db"}, time.Minute, nil)
	var inUse *StoreInUseError
	if !errors.As(err, &inUse) || !errors.Is(err, ErrStoreInUse) || inUse.Holder.Database != "/a/chartd.db" {
		t.Fatalf("second holder: %v, want a StoreInUseError naming the first", err)
	}
	if h, _, err := s.LeaseLive(ctx, time.Minute); err != nil || h == nil || h.Database != "/a/chartd.db" {
		t.Errorf("LeaseLive = %+v, %v", h, err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := s.AcquireLease(ctx, LeaseHolder{Database: "/b/chartd.db"}, time.Minute, nil)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	defer second.Release(ctx)
	// A lease of this very pid is a previous incarnation's: taken over.
	third, err := s.AcquireLease(ctx, LeaseHolder{Database: "/c/chartd.db"}, time.Minute, nil)
	if err != nil {
		t.Fatalf("takeover of a previous incarnation's lease: %v", err)
	}
	select {
	case <-third.Lost():
		t.Error("the new holder lost its lease")
	default:
	}
	third.Release(ctx)
}
