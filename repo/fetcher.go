package repo

import (
	"context"

	"github.com/chartd/chartd/index"
)

// Fetcher downloads a repository's files: Getter over HTTP(S), or another
// implementation for the URL schemes Helm's downloader plugins serve.
type Fetcher interface {
	// GetConditional fetches href; with etag set a fetcher that can may
	// answer notModified instead of the content.
	GetConditional(ctx context.Context, href, accept, etag string) (data []byte, newETag string, notModified bool, err error)
}

// Opener returns the Fetcher for one repository's options.
type Opener func(HTTPOptions) (Fetcher, error)

func openHTTP(o HTTPOptions) (Fetcher, error) { return NewGetter(o) }

// FetchIndexWith downloads and parses the index of the repository at
// repoURL through f.
func FetchIndexWith(ctx context.Context, f Fetcher, repoURL string) (*index.Compact, error) {
	u, err := ResolveReferenceURL(repoURL, "index.yaml")
	if err != nil {
		return nil, err
	}
	data, _, _, err := f.GetConditional(ctx, u, indexAccept, "")
	if err != nil {
		return nil, err
	}
	return index.LoadCompact(data)
}
