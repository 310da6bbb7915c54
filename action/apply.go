package action

import (
	"context"
	"errors"
	"fmt"

	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
)

// Server-side apply choices (--server-side=true|false|auto).
const (
	ServerSideTrue  = "true"
	ServerSideFalse = "false"
	ServerSideAuto  = "auto"
)

// ApplyOptions choose how objects are written: Helm 3's client-side 3-way
// merge (this client's default) or Helm 4's server-side apply.
type ApplyOptions struct {
	// ServerSide is "true", "false" or "auto": auto follows the apply
	// method the release recorded (upgrade: the last revision; rollback:
	// the revision restored), as in Helm 4. Empty means false for install
	// and auto for upgrade and rollback.
	ServerSide string
	// ForceConflicts takes over fields other managers own; server-side only.
	ForceConflicts bool
}

// resolve decides server-side or not, given the apply method recorded by
// the revision auto follows ("" for a new release). verb is "create" or
// "update", for Helm 4's wording of a misused --force-conflicts.
func (o ApplyOptions) resolve(recorded, verb string, forceReplace bool) (bool, error) {
	var ssa bool
	switch o.ServerSide {
	case ServerSideTrue:
		ssa = true
	case ServerSideFalse:
	case ServerSideAuto, "":
		ssa = recorded == release.ApplyServerSide
	default:
		return false, fmt.Errorf("invalid/unknown release server-side apply method: %s", o.ServerSide)
	}
	if o.ForceConflicts && !ssa {
		return false, fmt.Errorf("invalid client %s option(s): %w", verb, kube.ErrForceConflictsCSA)
	}
	if ssa && forceReplace {
		return false, errors.New("invalid operation: cannot use server-side apply and force replace together")
	}
	return ssa, nil
}

func applyMethod(ssa bool) string {
	if ssa {
		return release.ApplyServerSide
	}
	return release.ApplyClientSide
}

// change is one write of a release's objects, from original to target.
type change struct {
	original, target kube.ResourceList
	ssa              bool
	// fromCSA: the objects were last applied client-side, so server-side
	// apply first migrates their managed fields.
	fromCSA        bool
	forceReplace   bool
	forceConflicts bool
	dryRun         bool
	// create: a new release with nothing to adopt, created as Helm 3 does.
	create bool
}

// preflight checks a server-side change before anything is recorded or
// applied; a client-side change has nothing to check.
func (c *Configuration) preflight(ctx context.Context, ch change) error {
	if !ch.ssa {
		return nil
	}
	if ch.create {
		// Nothing exists to conflict with; only the manifest is checked.
		if p := c.Kube.DuplicateKeys(ch.target); len(p) > 0 {
			return &kube.PreflightError{Problems: p}
		}
		return nil
	}
	return c.Kube.Preflight(ctx, ch.target, kube.ApplyOptions{ForceConflicts: ch.forceConflicts, MigrateClientSide: ch.fromCSA})
}

// apply writes a change the way it asks: server-side apply, or Helm 3's
// create (nothing live) and 3-way merge update.
func (c *Configuration) apply(ctx context.Context, ch change) (*kube.Result, error) {
	if ch.ssa {
		return c.Kube.Apply(ctx, ch.original, ch.target, kube.ApplyOptions{
			ForceConflicts: ch.forceConflicts, DryRun: ch.dryRun, MigrateClientSide: ch.fromCSA,
		})
	}
	if ch.create {
		err := c.Kube.Create(ctx, ch.target, kube.CreateOptions{DryRun: ch.dryRun})
		return &kube.Result{Created: ch.target}, err
	}
	return c.Kube.Update(ctx, ch.original, ch.target, kube.UpdateOptions{Force: ch.forceReplace, DryRun: ch.dryRun})
}

// createdBy is what a change created, for --cleanup-on-fail; nothing when
// it failed before it knew.
func createdBy(res *kube.Result) kube.ResourceList {
	if res == nil {
		return nil
	}
	return res.Created
}
