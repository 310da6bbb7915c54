package action

import (
	"context"

	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/values"
)

// Get is `helm status` and `helm get ...`: one revision of a release.
type Get struct {
	Cfg *Configuration
	// Version is --revision; 0 means the newest.
	Version int
	// Coalesce receives the values conflicts of `get values --all`,
	// which Helm logs; nil drops them.
	Coalesce values.WarnFunc
}

// Run returns the revision.
func (g *Get) Run(ctx context.Context, name string) (*release.Release, error) {
	if g.Version > 0 {
		return g.Cfg.Releases.Get(ctx, name, g.Version)
	}
	h, err := g.Cfg.history(ctx, name)
	if err != nil {
		return nil, err
	}
	return h[len(h)-1], nil
}

// Values returns the user's values of the revision, or with all the
// chart's defaults coalesced in (`get values --all`).
func (g *Get) Values(ctx context.Context, name string, all bool) (map[string]any, error) {
	r, err := g.Run(ctx, name)
	if err != nil {
		return nil, err
	}
	if !all {
		return r.Config, nil
	}
	if r.Chart == nil {
		return r.Config, nil
	}
	v, err := values.Coalescer{Warn: g.Coalesce}.CoalesceValues(r.Chart, r.Config)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// History is `helm history`.
type History struct {
	Cfg *Configuration
	// Max is --max: at most this many newest revisions.
	Max int
}

// Run returns the revisions, oldest first.
func (h *History) Run(ctx context.Context, name string) ([]*release.Release, error) {
	all, err := h.Cfg.history(ctx, name)
	if err != nil {
		return nil, err
	}
	if h.Max > 0 && len(all) > h.Max {
		all = all[len(all)-h.Max:]
	}
	return all, nil
}
