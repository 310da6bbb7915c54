package cli

import (
	"context"
	"net/url"

	"github.com/chartd/chartd/repo"
	"github.com/chartd/chartd/values"
)

// valuesReader reads -f/--values and --set-file arguments as Helm does:
// an http(s) URL is downloaded (with no credentials, as in Helm), anything
// else is a local file, "-" stdin.
type valuesReader struct {
	local values.OSReader
}

func newValuesReader(env *Env) valuesReader {
	return valuesReader{local: values.OSReader{Stdin: env.In}}
}

// ReadFile implements values.FileReader.
func (r valuesReader) ReadFile(ctx context.Context, name string) ([]byte, error) {
	u, err := url.Parse(name)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return r.local.ReadFile(ctx, name)
	}
	g, err := repo.NewGetter(repo.HTTPOptions{URL: name})
	if err != nil {
		return nil, err
	}
	return g.Get(ctx, name)
}
