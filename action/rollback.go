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
	// DisableHooks is --no-hooks.
	DisableHooks bool
	// Timeout bounds each wait (hooks; 0: none).
	Timeout time.Duration
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
	now := release.Now()
	target := &release.Release{
		Name: name, Namespace: current.Namespace, Chart: prev.Chart, Config: prev.Config,
		Manifest: prev.Manifest, Hooks: prev.Hooks, Version: current.Version + 1, Labels: prev.Labels,
		ApplyMethod: release.ApplyClientSide,
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
	if _, err := cfg.Kube.Update(ctx, currentRes, targetRes, kube.UpdateOptions{Force: r.Force}); err != nil {
		msg := fmt.Sprintf("Rollback %q failed: %s", name, err)
		current.Info.Status = release.StatusFailed
		current.Info.Description = msg
		cfg.record(ctx, current)
		target.SetStatus(release.StatusFailed, msg)
		cfg.record(ctx, target)
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
