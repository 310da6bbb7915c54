package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// errInaccessible: the bucket answered, but says it is not there.
var errInaccessible = errors.New("bucket is not accessible")

// Ping asks the bucket whether it is there: one cheap call (a one-item
// listing, which on S3 also checks the credentials), for readiness probes.
// fileblob lists a removed directory as empty, so a local store's
// directory is looked at too.
func (s *BlobStore) Ping(ctx context.Context) error {
	if s.root != "" {
		fi, err := os.Stat(s.root)
		if err != nil {
			return fmt.Errorf("storage: ping: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("storage: ping: %s: %w", s.root, errInaccessible)
		}
	}
	ok, err := s.bucket.IsAccessible(ctx)
	if err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	if !ok {
		return fmt.Errorf("storage: ping: %w", errInaccessible)
	}
	return nil
}
