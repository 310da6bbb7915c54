package action

import (
	"context"
	"fmt"
	"time"

	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
)

// This file is what install, upgrade and rollback do after the cluster
// was changed: --wait, and, when that or the change failed, --atomic
// (Helm 4's --rollback-on-failure) and --cleanup-on-fail, with Helm 3's
// messages.

// waitOptions: --atomic implies --wait, as in Helm 3, and a bare one
// means the legacy rules.
func waitOptions(s kube.WaitStrategy, jobs bool, timeout time.Duration, atomic bool) kube.WaitOptions {
	if atomic && s == kube.WaitNone {
		s = kube.WaitLegacy
	}
	return kube.WaitOptions{Strategy: s, Jobs: jobs, Timeout: timeout}
}

// recovery is the context the clean-up after a failure runs in: it
// outlives a cancelled operation (an interrupted --wait still rolls back)
// but not the operation's own timeout once more.
func recovery(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx = context.WithoutCancel(ctx)
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}

// failRelease records a failed install; with --atomic it uninstalls it
// (objects and history) instead.
func (i *Install) failRelease(ctx context.Context, rel *release.Release, err error) (*release.Release, error) {
	rel.SetStatus(release.StatusFailed, fmt.Sprintf("Release %q failed: %s", rel.Name, err))
	rctx, cancel := recovery(ctx, i.Timeout)
	defer cancel()
	if !i.Atomic {
		i.Cfg.record(rctx, rel)
		return rel, err
	}
	i.Cfg.Logger.Info("Install failed and atomic is set, uninstalling release", "name", rel.Name)
	un := &Uninstall{Cfg: i.Cfg, Timeout: i.Timeout}
	if _, uerr := un.Run(rctx, rel.Name); uerr != nil {
		return rel, fmt.Errorf("an error occurred while uninstalling the release. original install error: %s: %w", err, uerr)
	}
	return rel, fmt.Errorf("release %s failed, and has been uninstalled due to atomic being set: %w", rel.Name, err)
}

// failRelease records a failed upgrade; with --cleanup-on-fail it deletes
// the objects the upgrade created, and with --atomic it rolls back to the
// newest revision that was deployed (and waits for it).
func (u *Upgrade) failRelease(ctx context.Context, rel *release.Release, created kube.ResourceList, err error) (*release.Release, error) {
	cfg := u.Cfg
	rel.SetStatus(release.StatusFailed, fmt.Sprintf("Upgrade %q failed: %s", rel.Name, err))
	rctx, cancel := recovery(ctx, u.Timeout)
	defer cancel()
	cfg.record(rctx, rel)
	if u.CleanupOnFail && len(created) > 0 {
		cfg.Logger.Info("Cleanup on fail set, cleaning up resources", "count", len(created))
		if _, _, derr := cfg.Kube.Delete(rctx, created, kube.DeleteOptions{}); derr != nil {
			return rel, fmt.Errorf("an error occurred while cleaning up resources. original upgrade error: %s: unable to cleanup resources: %w", err, derr)
		}
	}
	if !u.Atomic {
		return rel, err
	}
	cfg.Logger.Info("Upgrade failed and atomic is set, rolling back to last successful release", "name", rel.Name)
	h, herr := cfg.history(rctx, rel.Name)
	if herr != nil {
		return rel, fmt.Errorf("an error occurred while finding last successful release. original upgrade error: %s: %w", err, herr)
	}
	// A failed revision is superseded only by a successful one, so the
	// newest superseded or deployed revision is the last that worked.
	good := 0
	for _, x := range h {
		if (x.Info.Status == release.StatusSuperseded || x.Info.Status == release.StatusDeployed) && x.Version > good {
			good = x.Version
		}
	}
	if good == 0 {
		return rel, fmt.Errorf("unable to find a previously successful release when attempting to rollback. original upgrade error: %w", err)
	}
	strategy := u.Wait
	if strategy == kube.WaitNone {
		strategy = kube.WaitLegacy
	}
	rb := &Rollback{Cfg: cfg, Version: good, Force: u.Force, Wait: strategy, WaitForJobs: u.WaitForJobs, Timeout: u.Timeout}
	if _, rerr := rb.Run(rctx, rel.Name); rerr != nil {
		return rel, fmt.Errorf("an error occurred while rolling back the release. original upgrade error: %s: %w", err, rerr)
	}
	return rel, fmt.Errorf("release %s failed, and has been rolled back due to atomic being set: %w", rel.Name, err)
}

// cleanupOnFail deletes what a failed rollback created.
func (r *Rollback) cleanupOnFail(ctx context.Context, created kube.ResourceList, err error) error {
	if !r.CleanupOnFail || len(created) == 0 {
		return err
	}
	rctx, cancel := recovery(ctx, r.Timeout)
	defer cancel()
	if _, _, derr := r.Cfg.Kube.Delete(rctx, created, kube.DeleteOptions{}); derr != nil {
		return fmt.Errorf("an error occurred while cleaning up resources. original rollback error: %s: unable to cleanup resources: %w", err, derr)
	}
	return err
}

// wait waits for a rollback's objects; a failure marks the new revision
// failed, as Helm 3 does.
func (r *Rollback) wait(ctx context.Context, current, target *release.Release, l kube.ResourceList) error {
	err := r.Cfg.Kube.Wait(ctx, l, kube.WaitOptions{Strategy: r.Wait, Jobs: r.WaitForJobs, Timeout: r.Timeout})
	if err == nil {
		return nil
	}
	target.SetStatus(release.StatusFailed, fmt.Sprintf("Release %q failed: %s", target.Name, err))
	rctx, cancel := recovery(ctx, r.Timeout)
	defer cancel()
	r.Cfg.record(rctx, current)
	r.Cfg.record(rctx, target)
	return fmt.Errorf("release %s failed: %w", target.Name, err)
}
