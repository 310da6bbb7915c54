package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

// Pushing bytes that already exist (perhaps as another tenant's blob) must
// cost what pushing new bytes costs, or timing would reveal the existing
// blob. Counting bytes written is the deterministic form of that timing
// claim; nothing extra may remain in the bucket afterwards.
func TestPushExistingCostsTheSame(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenBlobs(ctx, "file://"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	d := digest.FromBytes(data)
	parts := [][]byte{data[:1000], data[1000:]}
	for _, tc := range []struct {
		name string
		push func() error
	}{
		{"known digest", func() error { _, err := s.Push(ctx, d, bytes.NewReader(data)); return err }},
		{"computed digest", func() error { _, err := s.Push(ctx, "", bytes.NewReader(data)); return err }},
		{"chunked upload", func() error {
			for i, p := range parts {
				if _, err := s.PutPart(ctx, "up1", i, bytes.NewReader(p)); err != nil {
					return err
				}
			}
			_, err := s.ComposeParts(ctx, "up1", len(parts), d)
			return err
		}},
		{"one chunk", func() error {
			if _, err := s.PutPart(ctx, "up1", 0, bytes.NewReader(data)); err != nil {
				return err
			}
			_, err := s.ComposeParts(ctx, "up1", 1, d)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Delete(ctx, d); err != nil {
				t.Fatal(err)
			}
			before := s.BytesWritten()
			if err := tc.push(); err != nil {
				t.Fatal(err)
			}
			fresh := s.BytesWritten() - before
			before = s.BytesWritten()
			if err := tc.push(); err != nil {
				t.Fatal(err)
			}
			again := s.BytesWritten() - before
			if fresh != again || fresh < int64(len(data)) {
				t.Errorf("new blob wrote %d bytes, existing blob %d: the difference would show in timing", fresh, again)
			}
			if err := s.DeleteParts(ctx, "up1", len(parts)); err != nil {
				t.Fatal(err)
			}
			if n := countRegular(t, filepath.Join(dir, "_tmp")); n != 0 {
				t.Errorf("%d temporary objects left behind", n)
			}
		})
	}
}

func countRegular(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
		}
		return nil
	})
	return n
}
