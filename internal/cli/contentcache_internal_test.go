package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"testing"
)

func TestContentCacheChecksWhatItStores(t *testing.T) {
	c := contentCache{root: t.TempDir()}
	data := []byte("chart bytes")
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	tests := []struct {
		name, digest string
		data         []byte
		wantErr      bool
	}{
		{"match", digest, data, false},
		{"match with algorithm", "sha256:" + digest, data, false},
		{"no digest claimed", "", data, false},
		{"other bytes", digest, []byte("other"), true},
		{"not hex", "zz", data, true},
		{"short", digest[:10], data, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.check("u", tt.digest, tt.data)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrContentDigest)) {
				t.Fatalf("check() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	if err := c.put(digest, []byte("lie")); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.get(digest); ok {
		t.Fatal("put stored bytes that do not have the digest")
	}
	if err := c.put(digest, data); err != nil {
		t.Fatal(err)
	}
	if b, ok := c.get(digest); !ok || string(b) != string(data) {
		t.Fatalf("get() = %q, %v", b, ok)
	}
	// A cached file changed behind our back is not served.
	k, _ := c.key(digest)
	if err := os.WriteFile(c.path(k), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.get(digest); ok {
		t.Fatal("get served a tampered entry")
	}
}
