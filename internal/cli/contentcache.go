package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/chartd/chartd/repo"
)

// ErrContentDigest: downloaded bytes whose SHA-256 is not the digest the
// repository index claims for them.
var ErrContentDigest = errors.New("content does not match the digest the repository index claims")

// contentCache is Helm 4's content cache ($HELM_CONTENT_CACHE,
// --content-cache): charts stored under the SHA-256 their repository index
// claims, as <root>/<first byte>/<hex>.chart, so a later install of the
// same chart needs no download. Unlike Helm 4, which stores whatever the
// server sent under the claimed digest (a TODO in its code), a download is
// checked against the digest before it is stored, and a cached file is
// checked again when read: a lying or broken server cannot poison it.
type contentCache struct{ root string }

// key parses an index digest ("<hex>" or "sha256:<hex>").
func (contentCache) key(digest string) ([sha256.Size]byte, bool) {
	var k [sha256.Size]byte
	b, err := hex.DecodeString(strings.TrimPrefix(digest, "sha256:"))
	if err != nil || len(b) != sha256.Size {
		return k, false
	}
	copy(k[:], b)
	return k, true
}

func (c contentCache) path(k [sha256.Size]byte) string {
	return filepath.Join(c.root, fmt.Sprintf("%02x", k[0]), hex.EncodeToString(k[:])+".chart")
}

// get returns the cached chart with this digest, if there is one whose
// bytes still have it.
func (c contentCache) get(digest string) ([]byte, bool) {
	k, ok := c.key(digest)
	if c.root == "" || !ok {
		return nil, false
	}
	b, err := os.ReadFile(c.path(k))
	if err != nil || len(b) == 0 || sha256.Sum256(b) != k {
		return nil, false
	}
	return b, true
}

// check verifies data against the index's digest (none claimed: nothing
// to check).
func (c contentCache) check(name, digest string, data []byte) error {
	if digest == "" {
		return nil
	}
	k, ok := c.key(digest)
	got := sha256.Sum256(data)
	if !ok || got != k {
		return fmt.Errorf("%w: %s has sha256:%x, the index says %s", ErrContentDigest, name, got, digest)
	}
	return nil
}

// put stores data under digest once check has passed.
func (c contentCache) put(digest string, data []byte) error {
	k, ok := c.key(digest)
	if c.root == "" || !ok || sha256.Sum256(data) != k {
		return nil
	}
	p := c.path(k)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return repo.WriteAtomic(p, data, 0o644)
}
