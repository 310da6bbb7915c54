package action

import (
	"context"
	"fmt"

	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
)

// DriftMissing is the change type of an object of the manifest that is
// not in the cluster.
const DriftMissing = "MISSING"

// Drift is `helm status --drift`: the objects whose live state differs
// from the release's manifest.
type Drift struct {
	Cfg *Configuration
	DiffOptions
}

// Run compares each object of rel's manifest with the live one. What the
// manifest "says" of a live object is found by a server-side dry run of the
// write that would enforce it (the release's apply method: a 3-way patch
// from the manifest to itself against the live object, or a forced apply),
// so fields nobody set in the manifest, defaults and other managers'
// fields do not count, and a field changed out of band does. Before is the
// live object, After what enforcing the manifest would make of it; a
// missing object has Type DriftMissing.
func (d *Drift) Run(ctx context.Context, rel *release.Release) ([]Change, error) {
	objs, err := d.Cfg.Kube.Build(ctx, rel.Manifest)
	if err != nil {
		return nil, fmt.Errorf("unable to build kubernetes objects from release manifest: %w", err)
	}
	// The objects carry Helm's ownership marks live; the manifest as
	// applied did too.
	setOwnership(objs, rel.Name, rel.Namespace)
	planned, err := d.Cfg.Kube.Plan(ctx, objs, objs, kube.PlanOptions{
		ServerSide: rel.ApplyMethod == release.ApplyServerSide, ForceConflicts: true, Enforce: true,
	})
	if err != nil {
		return nil, err
	}
	pairs := plannedPairs(planned)
	changes, err := d.changes(pairs)
	for i := range changes {
		if changes[i].Type == ChangeAdd {
			changes[i].Type = DriftMissing
		}
	}
	return changes, err
}
