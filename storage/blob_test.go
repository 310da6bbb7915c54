package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// stores opens one store per bucket kind; dir is "" for memory.
func stores(t *testing.T) []struct {
	name string
	s    *BlobStore
	dir  string
} {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data", "blobs") // missing: OpenBlobs creates it
	fileStore, err := OpenBlobs(ctx, "file://"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	memStore, err := OpenBlobs(ctx, "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fileStore.Close(); memStore.Close() })
	return []struct {
		name string
		s    *BlobStore
		dir  string
	}{{"file", fileStore, dir}, {"mem", memStore, ""}}
}

func eachStore(t *testing.T, fn func(t *testing.T, s *BlobStore, dir string)) {
	for _, st := range stores(t) {
		t.Run(st.name, func(t *testing.T) { fn(t, st.s, st.dir) })
	}
}

func fetchAll(t *testing.T, s *BlobStore, d digest.Digest) []byte {
	t.Helper()
	r, err := s.Fetch(context.Background(), d)
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

// settle unlinks what the store's local commits retired, as its reaper
// would a moment later.
func settle(s *BlobStore) {
	if s.reaper != nil {
		s.reaper.reap()
	}
}

// files lists the regular files under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPushFetch(t *testing.T) {
	content := []byte("a chart, more or less")
	d := digest.FromBytes(content)
	d512 := digest.SHA512.FromBytes(content)
	tests := []struct {
		name     string
		expected digest.Digest
		want     digest.Digest
	}{
		{"expected sha256", d, d},
		{"expected sha512", d512, d512},
		{"computed", "", d},
	}
	eachStore(t, func(t *testing.T, s *BlobStore, dir string) {
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				desc, err := s.Push(ctx, tt.expected, bytes.NewReader(content))
				if err != nil {
					t.Fatal(err)
				}
				if desc != (Descriptor{tt.want, int64(len(content))}) {
					t.Fatalf("Push = %+v", desc)
				}
				if got := fetchAll(t, s, tt.want); !bytes.Equal(got, content) {
					t.Fatalf("Fetch = %q", got)
				}
				st, err := s.Stat(ctx, tt.want)
				if err != nil || st != desc {
					t.Fatalf("Stat = %+v, %v", st, err)
				}
				r, err := s.FetchRange(ctx, tt.want, 2, 5)
				if err != nil {
					t.Fatal(err)
				}
				part, _ := io.ReadAll(r)
				r.Close()
				if string(part) != string(content[2:7]) {
					t.Errorf("FetchRange(2, 5) = %q", part)
				}
			})
		}
		if dir != "" {
			enc := d.Encoded()
			want := "blobs/sha256/" + enc[:2] + "/" + enc
			if fs := files(t, dir); !contains(fs, want) {
				t.Errorf("files %v lack %s", fs, want)
			}
			for _, f := range files(t, dir) {
				if strings.HasPrefix(f, "_tmp/") || strings.HasSuffix(f, ".attrs") {
					t.Errorf("left behind: %s", f)
				}
			}
		}
		if err := s.Delete(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Fetch(ctx, d); !errors.Is(err, ErrNotFound) {
			t.Errorf("Fetch after Delete: %v", err)
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat after Delete: %v", err)
		}
		if err := s.Delete(ctx, d); err != nil {
			t.Errorf("second Delete: %v", err)
		}
	})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// failingReader yields n bytes, then an error.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

// A push that fails verification, or whose reader fails, commits nothing.
func TestPushFailureCommitsNothing(t *testing.T) {
	content := bytes.Repeat([]byte("x"), 100_000)
	tests := []struct {
		name     string
		expected digest.Digest
		r        func() io.Reader
		want     error
	}{
		{"digest mismatch", digest.FromString("other"), func() io.Reader { return bytes.NewReader(content) }, ErrDigestMismatch},
		{"sha512 mismatch", digest.SHA512.FromString("other"), func() io.Reader { return bytes.NewReader(content) }, ErrDigestMismatch},
		{"reader fails with expected", digest.FromBytes(content), func() io.Reader { return &failingReader{n: 70_000} }, nil},
		{"reader fails computed", "", func() io.Reader { return &failingReader{n: 70_000} }, nil},
		{"bad digest", "sha256:abc", func() io.Reader { return bytes.NewReader(content) }, ErrInvalidDigest},
		{"unsupported algorithm", "sha384:" + digest.Digest(strings.Repeat("a", 96)), func() io.Reader { return bytes.NewReader(content) }, ErrInvalidDigest},
	}
	eachStore(t, func(t *testing.T, s *BlobStore, dir string) {
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.Push(ctx, tt.expected, tt.r())
				if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
					t.Fatalf("Push: %v, want %v", err, tt.want)
				}
				if tt.expected != "" && validDigest(tt.expected) == nil {
					if _, err := s.Stat(ctx, tt.expected); !errors.Is(err, ErrNotFound) {
						t.Errorf("after a failed push Stat = %v, want ErrNotFound", err)
					}
				}
				if _, err := s.Stat(ctx, digest.FromBytes(content)); !errors.Is(err, ErrNotFound) {
					t.Errorf("content committed: %v", err)
				}
				if dir != "" {
					if fs := files(t, dir); len(fs) != 0 {
						t.Errorf("files left behind: %v", fs)
					}
				}
			})
		}
	})
}

// Pushing an existing blob writes nothing but still verifies the bytes.
func TestPushExisting(t *testing.T) {
	content := []byte("immutable")
	d := digest.FromBytes(content)
	eachStore(t, func(t *testing.T, s *BlobStore, dir string) {
		ctx := context.Background()
		if _, err := s.Push(ctx, d, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		var before os.FileInfo
		path := ""
		if dir != "" {
			path = filepath.Join(dir, "blobs", "sha256", d.Encoded()[:2], d.Encoded())
			var err error
			if before, err = os.Stat(path); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Push(ctx, d, strings.NewReader("tampered")); !errors.Is(err, ErrDigestMismatch) {
			t.Errorf("existing digest, wrong bytes: %v, want ErrDigestMismatch", err)
		}
		for _, exp := range []digest.Digest{d, ""} {
			desc, err := s.Push(ctx, exp, bytes.NewReader(content))
			if err != nil || desc.Digest != d {
				t.Errorf("Push(%q) again = %+v, %v", exp, desc, err)
			}
		}
		if got := fetchAll(t, s, d); !bytes.Equal(got, content) {
			t.Errorf("blob now %q", got)
		}
		if path != "" {
			after, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
				t.Errorf("committed blob was rewritten")
			}
		}
	})
}

func TestConcurrentPushSameBlob(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 50_000)
	d := digest.FromBytes(content)
	eachStore(t, func(t *testing.T, s *BlobStore, dir string) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				exp := d
				if i%2 == 0 {
					exp = ""
				}
				if desc, err := s.Push(ctx, exp, bytes.NewReader(content)); err != nil || desc.Digest != d {
					t.Errorf("push %d: %+v, %v", i, desc, err)
				}
			})
		}
		wg.Wait()
		if got := fetchAll(t, s, d); !bytes.Equal(got, content) {
			t.Error("blob corrupted by concurrent pushes")
		}
		settle(s)
		if dir != "" {
			if fs := files(t, dir); len(fs) != 1 {
				t.Errorf("files %v, want the one blob", fs)
			}
		}
	})
}

// pattern is a deterministic stream of n bytes that is never held in memory.
func pattern(n int64) io.Reader {
	return io.LimitReader(&repeatReader{s: "chartd streams blobs; "}, n)
}

type repeatReader struct {
	s   string
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.s[r.off]
		r.off = (r.off + 1) % len(r.s)
	}
	return len(p), nil
}

// allocated returns the bytes allocated while fn ran.
func allocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// Memory use does not depend on the blob's size: a 64 MiB push allocates
// about as much as a 1 MiB one, and far less than the blob.
func TestPushMemoryBounded(t *testing.T) {
	ctx := context.Background()
	s, err := OpenBlobs(ctx, "file://"+t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	digestOf := func(n int64) digest.Digest {
		dg, err := digest.FromReader(pattern(n))
		if err != nil {
			t.Fatal(err)
		}
		return dg
	}
	const small, large = 1 << 20, 64 << 20
	for _, mode := range []string{"expected", "computed"} {
		t.Run(mode, func(t *testing.T) {
			push := func(n int64) uint64 {
				var exp digest.Digest
				if mode == "expected" {
					exp = digestOf(n)
				}
				return allocated(func() {
					if _, err := s.Push(ctx, exp, pattern(n)); err != nil {
						t.Fatal(err)
					}
				})
			}
			a, b := push(small), push(large)
			t.Logf("allocated: %d KiB for 1 MiB, %d KiB for 64 MiB", a>>10, b>>10)
			if b > 4<<20 || b > 4*a+(1<<20) {
				t.Errorf("64 MiB push allocated %d bytes (1 MiB push: %d): memory grows with size", b, a)
			}
		})
	}
}

func TestParts(t *testing.T) {
	parts := [][]byte{[]byte("first part, "), bytes.Repeat([]byte("m"), 70_000), []byte(", last")}
	all := bytes.Join(parts, nil)
	eachStore(t, func(t *testing.T, s *BlobStore, dir string) {
		ctx := context.Background()
		for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
			t.Run(string(alg), func(t *testing.T) {
				id := "upload-" + string(alg)
				var ids []string
				for i, p := range parts {
					part, n, err := s.PutPart(ctx, id, bytes.NewReader(p))
					if err != nil || n != int64(len(p)) || contains(ids, part) {
						t.Fatalf("PutPart %d = %q, %d, %v", i, part, n, err)
					}
					ids = append(ids, part)
				}
				// A second attempt at the last chunk is an object of its
				// own: the first is untouched.
				retry, _, err := s.PutPart(ctx, id, strings.NewReader("a retry"))
				if err != nil || contains(ids, retry) {
					t.Fatalf("PutPart retry = %q, %v", retry, err)
				}
				if _, err := s.ComposeParts(ctx, id, ids, alg.FromString("wrong")); !errors.Is(err, ErrDigestMismatch) {
					t.Fatalf("compose with a wrong digest: %v", err)
				}
				if _, err := s.Stat(ctx, alg.FromString("wrong")); !errors.Is(err, ErrNotFound) {
					t.Fatalf("mismatched compose committed: %v", err)
				}
				want := alg.FromBytes(all)
				if _, err := s.ComposeParts(ctx, id, ids[:len(ids)-1], want); !errors.Is(err, ErrDigestMismatch) {
					t.Fatalf("compose of too few parts: %v", err)
				}
				desc, err := s.ComposeParts(ctx, id, ids, want)
				if err != nil || desc != (Descriptor{want, int64(len(all))}) {
					t.Fatalf("ComposeParts = %+v, %v", desc, err)
				}
				if got := fetchAll(t, s, want); !bytes.Equal(got, all) {
					t.Fatal("composed blob differs")
				}
				// Composing again finds the blob and leaves it be.
				if _, err := s.ComposeParts(ctx, id, ids, want); err != nil {
					t.Fatalf("second compose: %v", err)
				}
				if err := s.DeletePart(ctx, id, retry); err != nil {
					t.Fatal(err)
				}
				if err := s.DeletePart(ctx, id, retry); err != nil {
					t.Errorf("deleting a deleted part: %v", err)
				}
				if err := s.DeleteParts(ctx, id); err != nil {
					t.Fatal(err)
				}
				if _, err := s.ComposeParts(ctx, id, ids, want); !errors.Is(err, ErrNotFound) {
					t.Errorf("compose after DeleteParts: %v, want ErrNotFound", err)
				}
				if err := s.DeleteParts(ctx, id); err != nil {
					t.Errorf("DeleteParts of a removed upload: %v", err)
				}
			})
		}
		for _, bad := range []string{"", "../escape", "a/b", "a.b", strings.Repeat("x", 200)} {
			if _, _, err := s.PutPart(ctx, bad, strings.NewReader("x")); err == nil {
				t.Errorf("PutPart accepted upload id %q", bad)
			}
			if err := s.DeleteParts(ctx, bad); err == nil {
				t.Errorf("DeleteParts accepted upload id %q", bad)
			}
			if _, err := s.ComposeParts(ctx, "upload", []string{bad}, digest.FromString("x")); err == nil {
				t.Errorf("ComposeParts accepted part %q", bad)
			}
		}
		settle(s)
		if dir != "" {
			for _, f := range files(t, dir) {
				if !strings.HasPrefix(f, "blobs/") || strings.Contains(f, ".") {
					t.Errorf("left behind: %s", f)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "_uploads", "upload-sha256")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the upload's directory outlives its parts: %v", err)
			}
		}
	})
}

// TestSinglePart covers the commonest chunked upload, one PATCH and a bare
// PUT, which a local disk commits by linking the part instead of copying
// it: it is verified like a copy, leaves the part in place until
// DeleteParts, tolerates an existing blob, and leaves nothing behind.
func TestSinglePart(t *testing.T) {
	data := bytes.Repeat([]byte("one chunk "), 50_000)
	want := digest.FromBytes(data)
	eachStore(t, func(t *testing.T, s *BlobStore, dir string) {
		ctx := context.Background()
		part, _, err := s.PutPart(ctx, "single", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		parts := []string{part}
		wrong := digest.FromString("other bytes")
		if _, err := s.ComposeParts(ctx, "single", parts, wrong); !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("commit under a wrong digest: %v", err)
		}
		if _, err := s.Stat(ctx, wrong); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a mismatched part was committed: %v", err)
		}
		for range 2 { // the second finds the blob there
			desc, err := s.ComposeParts(ctx, "single", parts, want)
			if err != nil || desc != (Descriptor{want, int64(len(data))}) {
				t.Fatalf("ComposeParts = %+v, %v", desc, err)
			}
		}
		if got := fetchAll(t, s, want); !bytes.Equal(got, data) {
			t.Fatal("committed blob differs from the part")
		}
		if dir != "" {
			// Linked, not copied: one file under two names.
			key, _ := blobKey(want)
			pk, _ := partKey("single", part)
			a, errA := os.Stat(filepath.Join(dir, key))
			b, errB := os.Stat(filepath.Join(dir, pk))
			if errA != nil || errB != nil || !os.SameFile(a, b) {
				t.Errorf("the blob is not the part's file: %v, %v", errA, errB)
			}
		}
		if err := s.DeleteParts(ctx, "single"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ComposeParts(ctx, "single", parts, want); !errors.Is(err, ErrNotFound) {
			t.Errorf("commit after DeleteParts: %v, want ErrNotFound", err)
		}
		if got := fetchAll(t, s, want); !bytes.Equal(got, data) {
			t.Fatal("the blob changed when its part was deleted")
		}
		settle(s)
		if dir != "" {
			for _, f := range files(t, dir) {
				if !strings.HasPrefix(f, "blobs/") || strings.Contains(f, ".") {
					t.Errorf("left behind: %s", f)
				}
			}
		}
	})
}

// What a kill -9 leaves (fileblob's temp file next to the final path, a
// staged blob under _tmp/) is never visible as a blob, and is swept once old.
func TestCrashLeftoversInvisible(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenBlobs(ctx, "file://"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := digest.FromString("half written")
	enc := d.Encoded()
	leftovers := []string{
		filepath.Join(dir, "blobs", "sha256", enc[:2], enc+".18a2b3c4d5e6f708.tmp"),
		filepath.Join(dir, "_tmp", "0123456789abcdef"),
	}
	old := time.Now().Add(-48 * time.Hour)
	for _, p := range leftovers {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half written"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	live, err := s.Push(ctx, "", strings.NewReader("a committed blob"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat of a half-written blob: %v, want ErrNotFound", err)
	}
	if _, err := s.Fetch(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Errorf("Fetch of a half-written blob: %v, want ErrNotFound", err)
	}
	var seen []digest.Digest
	if err := s.Walk(ctx, func(b StoredBlob) error { seen = append(seen, b.Digest); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != live.Digest {
		t.Errorf("Walk saw %v, want only %s", seen, live.Digest)
	}
	n, err := s.SweepStale(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != len(leftovers) {
		t.Errorf("SweepStale = %d, %v; want %d", n, err, len(leftovers))
	}
	for _, p := range leftovers {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s survives the sweep", p)
		}
	}
	if _, err := s.Stat(ctx, live.Digest); err != nil {
		t.Errorf("sweep removed a committed blob: %v", err)
	}
}

// fileblob's temp files go next to the final path, never to os.TempDir
// (possibly another filesystem, where the commit rename would fail).
func TestFileTempOnSameFilesystem(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "does-not-exist"))
	ctx := context.Background()
	s, err := OpenBlobs(ctx, "file://"+t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, exp := range []digest.Digest{digest.FromString("x"), ""} {
		if _, err := s.Push(ctx, exp, strings.NewReader("x")); err != nil {
			t.Errorf("Push(%q) with an unusable TMPDIR: %v", exp, err)
		}
	}
}

func FuzzDigestOfKey(f *testing.F) {
	d := digest.FromString("seed")
	k, _ := blobKey(d)
	for _, s := range []string{k, "blobs/sha256/ab/ab", "blobs/sha512/../x", "_tmp/x", k + ".1.tmp", "blobs/sha256/" + d.Encoded()} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		d, ok := DigestOfKey(key)
		if !ok {
			return
		}
		// Only exact blob keys parse, and they round-trip.
		back, err := blobKey(d)
		if err != nil || back != key {
			t.Fatalf("DigestOfKey(%q) = %s, but blobKey gives %q (%v)", key, d, back, err)
		}
	})
}

func ExampleBlobStore_Push() {
	ctx := context.Background()
	s, err := OpenBlobs(ctx, "mem://", slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	defer s.Close()
	desc, err := s.Push(ctx, "", strings.NewReader("hello"))
	if err != nil {
		panic(err)
	}
	key, _ := blobKey(desc.Digest)
	fmt.Println(desc.Size, key)
	// Output: 5 blobs/sha256/2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
}

func TestOpenBlobsURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		url     string
		wantErr bool
	}{
		{filepath.Join(dir, "bare", "path"), false},
		{"file://" + filepath.Join(dir, "url"), false},
		{"file://" + filepath.Join(dir, "explicit") + "?metadata=skip&create_dir=1", false},
		{"mem://", false},
		{"nosuch://bucket", true},
		{"file://" + filepath.Join(dir, "x") + "?unknown=1", true},
	}
	for _, tt := range tests {
		s, err := OpenBlobs(ctx, tt.url, nil)
		if (err != nil) != tt.wantErr {
			t.Errorf("OpenBlobs(%q): %v, want error %v", tt.url, err, tt.wantErr)
		}
		if err != nil {
			continue
		}
		if _, err := s.Push(ctx, "", strings.NewReader("x")); err != nil {
			t.Errorf("%s: Push: %v", tt.url, err)
		}
		s.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "bare", "path", "blobs", "sha256")); err != nil {
		t.Errorf("bare path not used as a directory: %v", err)
	}
}

// TestLocalBlobsAreSynced checks that every way a blob reaches a local disk
// syncs it before the commit (and that an object store, which has no such
// step, is not asked to), including a blob large enough to be handed to
// writeback in chunks while it arrives.
func TestLocalBlobsAreSynced(t *testing.T) {
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), (2*writebackChunk+12345)/16)
	eachStore(t, func(t *testing.T, s *BlobStore, dir string) {
		want := int64(0)
		step := func(what string, err error, commits bool) {
			t.Helper()
			if commits && err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if commits && dir != "" {
				want++
			}
			if got := s.synced.Load(); got != want {
				t.Fatalf("after %s: %d blobs synced, want %d", what, got, want)
			}
		}
		_, err := s.Push(ctx, digest.FromBytes(big), bytes.NewReader(big))
		step("push of a known digest", err, true)
		if got := fetchAll(t, s, digest.FromBytes(big)); !bytes.Equal(got, big) {
			t.Fatalf("read back %d bytes, want %d", len(got), len(big))
		}
		_, err = s.Push(ctx, digest.FromBytes(big), bytes.NewReader(big))
		step("push of an existing blob (written and discarded alike)", err, true)
		_, err = s.Push(ctx, "", strings.NewReader("unknown digest"))
		step("push without a digest", err, true)
		p1, _, err := s.PutPart(ctx, "up1", strings.NewReader("part one,"))
		if err != nil {
			t.Fatal(err)
		}
		p2, _, err := s.PutPart(ctx, "up1", strings.NewReader(" part two"))
		if err != nil {
			t.Fatal(err)
		}
		step("two parts (not blobs yet)", nil, false)
		_, err = s.ComposeParts(ctx, "up1", []string{p1, p2}, digest.FromString("part one, part two"))
		step("compose of parts", err, true)
		lone, _, err := s.PutPart(ctx, "up2", strings.NewReader("a lone part"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.ComposeParts(ctx, "up2", []string{lone}, digest.FromString("a lone part"))
		step("commit of a lone part", err, true)
		_, err = s.Push(ctx, digest.FromString("other"), strings.NewReader("bytes"))
		if !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("mismatch: %v", err)
		}
		step("a refused push", nil, false)
	})
}
