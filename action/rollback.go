package action

import (
	"context"
	"fmt"
	"time"

	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
)

// Rollback is `helm rollback RELEASE [REVISION]`.
type Rollback struct {
	Cfg *Configuration
	// Version is the revision to restore; 0 means the previous one.
	Version int
	Force   bool
	DryRun  bool
	// Wait is --wait's strategy (none when empty); CleanupOnFail deletes
	// what a failed rollback created. See failure.go.
	Wait          kube.WaitStrategy
	WaitForJobs   bool
	Timeout       time.Duration
	CleanupOnFail bool
	Apply         ApplyOptions
	// DisableHooks is --no-hooks.
	DisableHooks bool
}

// Run restores a revision's manifest, values and chart as a new revision,
// patching the cluster from the current revision with a 3-way merge (so
// out-of-band changes to fields the manifest sets are undone).
func (r *Rollback) Run(ctx context.Context, name string) (*release.Release, error) {
	cfg := r.Cfg
	h, err := cfg.history(ctx, name)
	if err != nil {
		return nil, err
	}
	current := h[len(h)-1]
	// A pending release is not refused: rollback is how one left pending
	// by a killed client is recovered (lock.go).
	interrupted := current.Info.Status.IsPending()
	version := r.Version
	if version == 0 {
		version = current.Version - 1
	}
	var prev *release.Release
	for _, x := range h {
		if x.Version == version {
			prev = x
		}
	}
	if version < 1 || prev == nil {
		return nil, fmt.Errorf("release has no %d version", version)
	}
	ssa, err := r.Apply.resolve(prev.ApplyMethod, "update", r.Force)
	if err != nil {
		return nil, err
	}
	now := release.Now()
	target := &release.Release{
		Name: name, Namespace: current.Namespace, Chart: prev.Chart, Config: prev.Config,
		Manifest: prev.Manifest, Hooks: prev.Hooks, Version: current.Version + 1, Labels: prev.Labels,
		ApplyMethod: applyMethod(ssa),
		Info: &release.Info{
			FirstDeployed: current.Info.FirstDeployed, LastDeployed: now, Notes: prev.Info.Notes,
			Status: release.StatusPendingRollback, Description: fmt.Sprintf("Rollback to %d", version),
			RollbackRevision: version,
		},
	}
	if r.DryRun {
		return target, nil
	}
	currentRes, err := cfg.Kube.Build(ctx, current.Manifest)
	if err != nil {
		return nil, fmt.Errorf("unable to build kubernetes objects from current release manifest: %w", err)
	}
	targetRes, err := cfg.Kube.Build(ctx, target.Manifest)
	if err != nil {
		return nil, fmt.Errorf("unable to build kubernetes objects from new release manifest: %w", err)
	}
	// The target's objects were this release's: mark them so again.
	setOwnership(targetRes, name, current.Namespace)
	w := change{
		original: currentRes, target: targetRes, ssa: ssa, fromCSA: true, // as Helm 4: a no-op where nothing was applied client-side
		forceReplace: r.Force, forceConflicts: r.Apply.ForceConflicts,
	}
	if err := cfg.preflight(ctx, w); err != nil {
		return nil, err
	}
	if err := cfg.Releases.Create(ctx, target); err != nil {
		return nil, err
	}
	if interrupted {
		if err := cfg.markInterrupted(ctx, current, target.Info.Description); err != nil {
			return target, err
		}
	}
	if err := cfg.runHooks(ctx, target, release.HookPreRollback, r.DisableHooks, r.Timeout); err != nil {
		return target, failRollbackHook(ctx, cfg, target, err)
	}
	res, err := cfg.apply(ctx, w)
	if err != nil {
		msg := fmt.Sprintf("Rollback %q failed: %s", name, err)
		current.Info.Status = release.StatusFailed
		current.Info.Description = msg
		cfg.record(ctx, current)
		target.SetStatus(release.StatusFailed, msg)
		cfg.record(ctx, target)
		return target, r.cleanupOnFail(ctx, createdBy(res), err)
	}
	if err := r.wait(ctx, current, target, targetRes); err != nil {
		return target, err
	}
	if err := cfg.runHooks(ctx, target, release.HookPostRollback, r.DisableHooks, r.Timeout); err != nil {
		return target, failRollbackHook(ctx, cfg, target, err)
	}
	// Every earlier deployed revision is superseded (helm#2941).
	for _, x := range h {
		if x.Info.Status == release.StatusDeployed {
			x.Info.Status = release.StatusSuperseded
			cfg.record(ctx, x)
		}
	}
	target.Info.Status = release.StatusDeployed
	if err := cfg.Releases.Update(ctx, target); err != nil {
		return target, err
	}
	return target, nil
}
