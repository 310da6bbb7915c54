package render

import (
	"context"
	"fmt"

	"github.com/chartd/chartd/internal/postrender"
)

// PostRender passes the release manifest, as opt prints it (the CRDs first
// with IncludeCRDs, Secrets hidden with HideSecret), through r, as Helm does
// after rendering; ManifestText and Print use the result from then on.
// Hooks are not post-rendered, in Helm neither. With OutputDir the files
// are written from the rendered templates and r gets an empty manifest,
// whose result Print still prints: Helm 3 does both.
func (res *Result) PostRender(ctx context.Context, r postrender.Renderer, opt PrintOptions) error {
	in := ""
	if opt.OutputDir == "" {
		in = res.ManifestText(opt.IncludeCRDs, opt.HideSecret)
	}
	out, err := r.Run(ctx, []byte(in))
	if err != nil {
		return fmt.Errorf("error while running post render on files: %w", err)
	}
	s := string(out)
	res.postRendered = &s
	return nil
}
