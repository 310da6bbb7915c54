package storage

import (
	"context"
	"errors"
	"fmt"
)

// errInaccessible: the bucket answered, but says it is not there.
var errInaccessible = errors.New("bucket is not accessible")

// Ping asks the bucket whether it is there: one cheap call (a HEAD of the
// bucket on S3, a stat of the directory for files), for readiness probes.
func (s *BlobStore) Ping(ctx context.Context) error {
	ok, err := s.bucket.IsAccessible(ctx)
	if err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	if !ok {
		return fmt.Errorf("storage: ping: %w", errInaccessible)
	}
	return nil
}
