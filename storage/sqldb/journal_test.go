package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/storage"
	"github.com/chartd/chartd/storage/sqldb"
)

// journaled is an embedded database whose commits go to its store's journal.
func journaled(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, kinds[0])
	ctx := context.Background()
	if err := e.db.SetStoreID(ctx, "store-1"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Snapshot(ctx, e.blobs, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.db.StartJournal(ctx, e.blobs, 1, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.StopJournal(context.Background()) })
	return e
}

// fill makes every kind of change the journal must carry: chart versions
// (one replaced by its provenance, one deleted), a plain OCI manifest with
// tags (one moved, one deleted), an image index, and trusted keys (one
// deleted), across two tenants.
func fill(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	a, b := e.tenant(t, "a"), e.tenant(t, "b/c")
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0+build.1"} {
		if err := e.put(ctx, e.chart(t, a.ID, "app", v, ""), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.put(ctx, e.chart(t, b.ID, "lib", "0.1.0", ""), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteChartVersion(ctx, a.ID, "app", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	signed := e.chart(t, a.ID, "app", "1.0.0", "")
	prov := e.push(t, []byte("-----BEGIN PGP SIGNED MESSAGE-----"))
	signed.ProvDigest, signed.ProvSize, signed.Signer = prov.Digest, prov.Size, "Someone <s@example.com>"
	man := e.push(t, []byte("manifest with prov"))
	signed.ManifestDigest, signed.ManifestSize = man.Digest, man.Size
	if err := e.db.SetProvenance(ctx, face(signed)); err != nil {
		t.Fatal(err)
	}
	repo, err := e.db.Repository(ctx, b.ID, "images/web", true)
	if err != nil {
		t.Fatal(err)
	}
	m1, m2 := e.ociManifest(t, repo, "one"), e.ociManifest(t, repo, "two")
	m1.Annotations = map[string]string{"org.example": "yes"}
	for _, put := range []struct {
		m   storage.Manifest
		tag string
	}{{m1, "latest"}, {m1, "v1"}, {m2, "v2"}, {m2, "latest"}} {
		if err := e.db.PutManifest(ctx, put.m, put.tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.DeleteTag(ctx, repo.ID, "v1"); err != nil {
		t.Fatal(err)
	}
	idxBytes := e.push(t, []byte("index of one and two"))
	idx := storage.Manifest{RepositoryID: repo.ID, Digest: idxBytes.Digest, Size: idxBytes.Size,
		MediaType: "application/vnd.oci.image.index.v1+json", Children: []digest.Digest{m1.Digest, m2.Digest}}
	if err := e.db.PutManifest(ctx, idx, "multi"); err != nil {
		t.Fatal(err)
	}
	for _, fp := range []string{"AAAA", "BBBB"} {
		if err := e.db.AddKey(ctx, storage.Key{TenantID: a.ID, Fingerprint: fp, Armored: "key " + fp}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.DeleteKey(ctx, a.ID, "AAAA"); err != nil {
		t.Fatal(err)
	}
}

// ignoreGCClock leaves out manifests' created, garbage collection's clock,
// which pushes renew without a journal entry and a restore restarts.
var ignoreGCClock = cmpopts.IgnoreFields(storage.ManifestRecord{}, "Created")

func export(t *testing.T, db *sqldb.DB) []storage.MetaRecord {
	t.Helper()
	var out []storage.MetaRecord
	if err := db.Export(context.Background(), func(r storage.MetaRecord) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// restoreFrom rebuilds a fresh database of kind k from e's journal.
func restoreFrom(t *testing.T, e *env, k backend) (*sqldb.DB, sqldb.RestoreStats, uint64) {
	t.Helper()
	ctx := context.Background()
	fresh, err := sqldb.Open(ctx, k.dsn(t), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fresh.Close() })
	js, err := e.blobs.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	st, restored, err := fresh.Restore(ctx, "store-1", func(fn func(storage.MetaRecord) error) (uint64, error) {
		last, err = e.blobs.ReplayJournal(ctx, js, fn)
		return last, err
	}, func(d digest.Digest) bool {
		_, err := e.blobs.Stat(ctx, d)
		return err == nil
	})
	if err != nil || !restored {
		t.Fatalf("Restore: restored=%v %v", restored, err)
	}
	return fresh, st, last
}

// TestJournalRebuildsTheDatabase: every commit is in the store's journal,
// so a fresh database, embedded or shared, rebuilt from it holds exactly
// what the original holds.
func TestJournalRebuildsTheDatabase(t *testing.T) {
	e := journaled(t)
	fill(t, e)
	want := export(t, e.db)
	if len(want) == 0 {
		t.Fatal("nothing exported")
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			fresh, st, last := restoreFrom(t, e, k)
			if diff := cmp.Diff(want, export(t, fresh), ignoreGCClock); diff != "" {
				t.Errorf("rebuilt database differs (-original +rebuilt):\n%s", diff)
			}
			if st.Charts != 3 || st.Manifests != 6 || st.Tags != 6 || st.Keys != 1 || st.Skipped != 0 {
				t.Errorf("stats %+v", st)
			}
			if id, err := fresh.StoreID(context.Background()); err != nil || id != "store-1" {
				t.Errorf("StoreID = %q, %v", id, err)
			}
			if k.name == "sqlite" {
				if next, err := fresh.JournalNext(context.Background()); err != nil || next != last+1 {
					t.Errorf("JournalNext = %d, %v; want %d", next, err, last+1)
				}
			}
			// The rebuilt database serves: the version is readable.
			tn, err := fresh.Tenant(context.Background(), "a")
			if err != nil {
				t.Fatal(err)
			}
			if cv, err := fresh.ChartVersion(context.Background(), tn.ID, "app", "1.0.0"); err != nil || cv.Signer == "" || cv.ProvDigest == "" {
				t.Errorf("restored signed version: %+v %v", cv, err)
			}
		})
	}
}

// TestJournalSnapshotThenEntries: a snapshot taken while writes continue,
// then the entries after it, replay to the same state; the entries it
// covers are trimmed.
func TestJournalSnapshotThenEntries(t *testing.T) {
	e := journaled(t)
	ctx := context.Background()
	tn := e.tenant(t, "")
	if err := e.put(ctx, e.chart(t, tn.ID, "before", "1.0.0", ""), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	next, err := e.db.JournalNext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Snapshot(ctx, e.blobs, next-1); err != nil {
		t.Fatal(err)
	}
	if err := e.put(ctx, e.chart(t, tn.ID, "after", "1.0.0", ""), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteChartVersion(ctx, tn.ID, "before", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	js, err := e.blobs.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(storage.JournalState{Snapshots: []uint64{next - 1}, Entries: []uint64{next, next + 1}}, js); diff != "" {
		t.Errorf("journal after a snapshot (-want +got):\n%s", diff)
	}
	fresh, _, _ := restoreFrom(t, e, kinds[0])
	if diff := cmp.Diff(export(t, e.db), export(t, fresh), ignoreGCClock); diff != "" {
		t.Errorf("rebuilt database differs:\n%s", diff)
	}
}

// failingSink refuses journal entries, as an unreachable bucket would.
type failingSink struct{ *storage.BlobStore }

func (failingSink) AppendJournal(context.Context, uint64, string, []storage.MetaRecord) error {
	return errors.New("bucket unreachable")
}

// TestJournalNotesSurviveAFailedFlush: a commit whose entry could not be
// written keeps its notes in the database; the next start writes them.
func TestJournalNotesSurviveAFailedFlush(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "chartd.db")
	e := newEnv(t, backend{"sqlite", func(testing.TB) string { return dsn }})
	if err := e.db.SetStoreID(ctx, "store-1"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.StartJournal(ctx, failingSink{e.blobs}, 1, 0); err != nil {
		t.Fatal(err)
	}
	tn := e.tenant(t, "")
	// The commit stands although its entry could not be written.
	if err := e.put(ctx, e.chart(t, tn.ID, "kept", "1.0.0", ""), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.FlushJournal(ctx); err == nil {
		t.Fatal("flush to an unreachable bucket reported success")
	}
	if js, _ := e.blobs.Journal(ctx); !js.Empty() {
		t.Fatalf("journal written through a failing sink: %+v", js)
	}
	// "Crash": close without a clean stop, then start on a reachable bucket.
	e.db.Close()
	db, err := sqldb.Open(ctx, dsn, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.StartJournal(ctx, e.blobs, 1, 0); err != nil {
		t.Fatal(err)
	}
	defer db.StopJournal(ctx)
	js, err := e.blobs.Journal(ctx)
	if err != nil || !cmp.Equal(js.Entries, []uint64{1}) {
		t.Fatalf("journal after restart: %+v %v", js, err)
	}
	var charts []string
	if _, err := e.blobs.ReplayJournal(ctx, js, func(r storage.MetaRecord) error {
		if r.Chart != nil {
			charts = append(charts, r.Chart.Name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(charts, []string{"kept"}) {
		t.Errorf("charts in the journal: %v", charts)
	}
}

// TestRestoreLeavesOutWhatTheStoreLacks: a record whose blob is gone from
// the store is not restored as a row pointing at nothing, and a tag of a
// left-out manifest goes with it.
func TestRestoreLeavesOutWhatTheStoreLacks(t *testing.T) {
	e := journaled(t)
	ctx := context.Background()
	tn := e.tenant(t, "")
	gone := e.chart(t, tn.ID, "gone", "1.0.0", "")
	for _, cv := range []storage.ChartVersion{gone, e.chart(t, tn.ID, "kept", "1.0.0", "")} {
		if err := e.put(ctx, cv, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.blobs.Delete(ctx, gone.Digest); err != nil {
		t.Fatal(err)
	}
	fresh, st, _ := restoreFrom(t, e, kinds[0])
	// Left out: the chart version and its manifest, which lists the tgz.
	if st.Charts != 1 || st.Manifests != 1 || st.Tags != 1 || st.Skipped != 2 {
		t.Errorf("stats %+v: want the kept chart only", st)
	}
	ftn, _ := fresh.Tenant(ctx, "")
	if _, err := fresh.ChartVersion(ctx, ftn.ID, "gone", "1.0.0"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("chart without its blob restored: %v", err)
	}
}

// TestSetStoreIDRefusesAnotherStore: a database records one store.
func TestSetStoreIDRefusesAnotherStore(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if err := e.db.SetStoreID(ctx, "one"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.SetStoreID(ctx, "one"); err != nil {
			t.Errorf("same store again: %v", err)
		}
		if err := e.db.SetStoreID(ctx, "two"); !errors.Is(err, sqldb.ErrStoreMismatch) {
			t.Errorf("another store: %v, want ErrStoreMismatch", err)
		}
	})
}

// TestLockOneProcess: the embedded database's lock is exclusive and names
// its holder.
func TestLockOneProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db", "chartd.db")
	unlock, err := sqldb.Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqldb.Lock(path)
	var le *sqldb.LockedError
	if !errors.As(err, &le) || !errors.Is(err, sqldb.ErrLocked) || le.PID == 0 {
		t.Fatalf("second lock: %v, want a LockedError naming the holder", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	again, err := sqldb.Lock(path)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again()
}

// TestJournalCompacts: after enough entries a snapshot replaces them, in
// the background, and the journal still rebuilds the database.
func TestJournalCompacts(t *testing.T) {
	e := journaled(t)
	ctx := context.Background()
	tn := e.tenant(t, "")
	for i := range 300 {
		fp := fmt.Sprintf("%04X", i)
		if err := e.db.AddKey(ctx, storage.Key{TenantID: tn.ID, Fingerprint: fp, Armored: "key " + fp}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.StopJournal(ctx); err != nil { // waits for the snapshot
		t.Fatal(err)
	}
	js, err := e.blobs.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(js.Snapshots) != 1 || js.Snapshots[0] == 0 || js.Pending() >= 300 || len(js.Entries) != js.Pending() {
		t.Errorf("journal after 300 commits: %d snapshot(s) %v, %d entries", len(js.Snapshots), js.Snapshots, len(js.Entries))
	}
	fresh, st, _ := restoreFrom(t, e, kinds[0])
	if st.Keys != 300 {
		t.Errorf("restored %d keys, want 300", st.Keys)
	}
	if diff := cmp.Diff(export(t, e.db), export(t, fresh), ignoreGCClock); diff != "" {
		t.Errorf("rebuilt database differs:\n%s", diff)
	}
}
