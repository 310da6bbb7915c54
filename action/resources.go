package action

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/chartd/chartd/release"
)

// Resources reads the live objects of rel's manifest, and the pods its
// workloads select, for `status --show-resources`: as the apiserver's
// Tables when table (the table output), else whole objects (-o json|yaml).
func (g *Get) Resources(ctx context.Context, rel *release.Release, table bool) (map[string][]runtime.Object, error) {
	l, err := g.Cfg.Kube.Build(ctx, rel.Manifest)
	if err != nil {
		return nil, err
	}
	return g.Cfg.Kube.GetWithRelated(ctx, l, table)
}
