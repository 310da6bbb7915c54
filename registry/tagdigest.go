package registry

import (
	"context"
	"fmt"

	"oras.land/oras-go/v2/registry/remote"
)

// ErrDigestMismatch: a name:tag@digest reference whose tag points at
// another manifest.
var ErrDigestMismatch = fmt.Errorf("chart reference digest mismatch")

// checkTagDigest resolves the tag of a name:tag@digest reference and
// refuses it when the tag names another manifest than the digest, with
// Helm's message.
func checkTagDigest(ctx context.Context, r *remote.Repository, ref Reference) error {
	if ref.Tag == "" || ref.Digest == "" {
		return nil
	}
	desc, err := r.Resolve(ctx, ref.Tag)
	if err != nil {
		// As in Helm: the digest does not need to be tagged.
		return nil
	}
	if desc.Digest.String() != ref.Digest {
		return fmt.Errorf("%w: %s is not %s", ErrDigestMismatch, desc.Digest, ref.Digest)
	}
	return nil
}
