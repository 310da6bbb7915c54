package storage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// ChartdKey tells chartd's keys from ChartMuseum's layout, which import
// reads: a tenant may be called "uploads" or "tmp".
func TestChartdKey(t *testing.T) {
	key, _ := blobKey(digest.FromString("x"))
	part, _ := partKey("0123abcd", randomID())
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{key, true},
		{stagingName(key), true},
		{spentName(key), true},
		{tmpKey(), true},
		{part, true},
		{ImportedKey, true},
		{"mychart-1.0.0.tgz", false},
		{"org/team/mychart-1.0.0.tgz", false},
		{"uploads/mychart-1.0.0.tgz", false},
		{"tmp/mychart-1.0.0.tgz", false},
		{"_chartdx/mychart-1.0.0.tgz", false},
		{"index-cache.yaml", false},
	} {
		if got := ChartdKey(tc.key); got != tc.want {
			t.Errorf("ChartdKey(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
	// Only the blob key itself reads back as a blob.
	if d, ok := DigestOfKey(key); !ok || d != digest.FromString("x") {
		t.Errorf("DigestOfKey(%q) = %s, %v", key, d, ok)
	}
	for _, k := range []string{stagingName(key), spentName(key)} {
		if _, ok := DigestOfKey(k); ok {
			t.Errorf("DigestOfKey(%q) reads a staging name as a blob", k)
		}
	}
}

// A local store is opened with every blob directory in place (so no push
// pays for a mkdir), and Close unlinks what its commits retired.
func TestLocalStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenBlobs(ctx, "file://"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		for _, d := range blobDirs(alg) {
			if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
				t.Fatalf("%s: %v", d, err)
			}
		}
	}
	for range 2 {
		if _, err := s.Push(ctx, digest.FromString("twice"), strings.NewReader("twice")); err != nil {
			t.Fatal(err)
		}
	}
	if n := spent(t, dir); n != 2 {
		t.Errorf("%d names retired before Close, want 2", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fs := files(t, dir); len(fs) != 1 {
		t.Errorf("after Close: %v, want the blob alone", fs)
	}
	// Opening again finds the directories made.
	s, err = OpenBlobs(ctx, "file://"+dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
