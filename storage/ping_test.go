package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Ping answers while the bucket is there and fails once it is gone.
func TestPing(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "bucket")
	s, err := OpenBlobs(ctx, "file://"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("present bucket: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("removed bucket: Ping returned nil")
	}
}
