package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// Pushing bytes that already exist (perhaps as another tenant's blob) must
// cost what pushing new bytes costs, or timing would reveal the existing
// blob (test/bench's BenchmarkUploadTimingOracle measures the timing
// itself). This is its deterministic form: both write the same bytes, sync
// once, and on a local disk retire their file to the reaper by a rename
// instead of unlinking it; the stored blob is left untouched, and once the
// reaper ran nothing but the blob remains.
func TestPushExistingCostsTheSame(t *testing.T) {
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	d := digest.FromBytes(data)
	eachStore(t, func(t *testing.T, s *BlobStore, dir string) {
		ctx := context.Background()
		chunked := func(chunks ...[]byte) func() error {
			return func() error {
				var parts []string
				for _, c := range chunks {
					p, _, err := s.PutPart(ctx, "up1", bytes.NewReader(c))
					if err != nil {
						return err
					}
					parts = append(parts, p)
				}
				_, err := s.ComposeParts(ctx, "up1", parts, d)
				if err == nil {
					err = s.DeleteParts(ctx, "up1")
				}
				return err
			}
		}
		for _, tc := range []struct {
			name string
			push func() error
		}{
			{"known digest", func() error { _, err := s.Push(ctx, d, bytes.NewReader(data)); return err }},
			{"computed digest", func() error { _, err := s.Push(ctx, "", bytes.NewReader(data)); return err }},
			{"chunked upload", chunked(data[:1000], data[1000:])},
			{"one chunk", chunked(data)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := s.Delete(ctx, d); err != nil {
					t.Fatal(err)
				}
				type cost struct{ written, synced int64 }
				measure := func() (cost, os.FileInfo) {
					t.Helper()
					c := cost{s.written.Load(), s.synced.Load()}
					if err := tc.push(); err != nil {
						t.Fatal(err)
					}
					c = cost{s.written.Load() - c.written, s.synced.Load() - c.synced}
					var info os.FileInfo
					if dir != "" {
						if n := spent(t, dir); n != 1 {
							t.Errorf("%d files retired to the reaper, want 1", n)
						}
						settle(s)
						key, _ := blobKey(d)
						var err error
						if info, err = os.Stat(filepath.Join(dir, key)); err != nil {
							t.Fatal(err)
						}
					}
					return c, info
				}
				fresh, before := measure()
				again, after := measure()
				if fresh != again || fresh.written < int64(len(data)) {
					t.Errorf("new blob cost %+v, existing blob %+v: the difference would show in timing", fresh, again)
				}
				if dir != "" {
					if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
						t.Error("the existing blob was rewritten")
					}
					if fs := files(t, dir); len(fs) != 1 {
						t.Errorf("left in the bucket: %v, want only the blob", fs)
					}
				}
			})
		}
	})
}

// spent counts the names local commits retired that the reaper has not
// unlinked yet.
func spent(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, f := range files(t, dir) {
		if strings.HasSuffix(f, spentSuffix) {
			n++
		}
	}
	return n
}
