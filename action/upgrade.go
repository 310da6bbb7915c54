package action

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/values"
)

// Upgrade is `helm upgrade` (--install is the CLI's: it runs Install when
// there is no release).
type Upgrade struct {
	Cfg                  *Configuration
	ReuseValues          bool
	ResetValues          bool
	ResetThenReuseValues bool
	// Force replaces objects instead of patching them.
	Force         bool
	TakeOwnership bool
	DryRun        string
	Description   string
	// Labels are merged into the previous revision's; the value "null"
	// removes a label, as in Helm.
	Labels map[string]string
	Render RenderOptions
	// Wait is --wait's strategy (none when empty); Atomic (Helm 4's
	// --rollback-on-failure) rolls a failed upgrade back; CleanupOnFail
	// deletes what it created. See failure.go.
	Wait          kube.WaitStrategy
	WaitForJobs   bool
	Timeout       time.Duration
	Atomic        bool
	CleanupOnFail bool
	Apply         ApplyOptions
	// DisableHooks is --no-hooks.
	DisableHooks bool
}

// ErrNoDeployed: upgrade of a release that has no deployed revision.
var ErrNoDeployed = errors.New("has no deployed releases")

// Run upgrades release name to ch with the user's values.
func (u *Upgrade) Run(ctx context.Context, name string, ch *chart.Chart, vals values.Values) (*release.Release, error) {
	cfg := u.Cfg
	if err := render.ValidateReleaseName(name); err != nil {
		return nil, fmt.Errorf("release name is invalid: %s", name)
	}
	if u.Render.HideSecret && u.DryRun != DryRunClient && u.DryRun != DryRunServer {
		return nil, ErrHideSecret
	}
	h, err := cfg.history(ctx, name)
	if errors.Is(err, ErrReleaseNotFound) {
		return nil, fmt.Errorf("%q %w", name, ErrNoDeployed)
	}
	if err != nil {
		return nil, err
	}
	last := h[len(h)-1]
	if err := checkLock(last); err != nil {
		return nil, err
	}
	ssa, err := u.Apply.resolve(last.ApplyMethod, "update", u.Force)
	if err != nil {
		return nil, err
	}
	current := deployed(h)
	if current == nil {
		if last.Info.Status != release.StatusFailed && last.Info.Status != release.StatusSuperseded {
			return nil, fmt.Errorf("%q %w", name, ErrNoDeployed)
		}
		current = last
	}
	vals, err = u.reuseValues(ch, current, vals)
	if err != nil {
		return nil, err
	}
	caps, err := cfg.capabilities(ctx)
	if err != nil {
		return nil, err
	}
	rel, _, err := cfg.renderRelease(ctx, ch, vals, name, cfg.Namespace, last.Version+1, true, caps, u.Render)
	if err != nil {
		return nil, err
	}
	rel.Info.FirstDeployed = current.Info.FirstDeployed
	rel.Labels = mergeLabels(last.Labels, u.Labels)
	rel.ApplyMethod = applyMethod(ssa)
	rel.SetStatus(release.StatusPendingUpgrade, "Preparing upgrade")

	currentRes, err := cfg.Kube.Build(ctx, current.Manifest)
	if err != nil {
		return rel, fmt.Errorf("unable to build kubernetes objects from current release manifest: %w", err)
	}
	target, err := cfg.Kube.Build(ctx, rel.Manifest)
	if err != nil {
		return rel, fmt.Errorf("unable to build kubernetes objects from new release manifest: %w", err)
	}
	setOwnership(target, name, cfg.Namespace)
	adopt, err := existing(ctx, cfg.Kube, target.Difference(currentRes), name, cfg.Namespace, u.TakeOwnership)
	if err != nil {
		return rel, fmt.Errorf("Unable to continue with update: %w", err) //nolint:staticcheck // Helm's message
	}
	currentRes = append(currentRes, adopt...)
	w := change{
		original: currentRes, target: target, ssa: ssa, fromCSA: last.ApplyMethod != release.ApplyServerSide,
		forceReplace: u.Force, forceConflicts: u.Apply.ForceConflicts,
	}
	// A server-side dry run checks what the real upgrade would.
	if u.DryRun != DryRunClient {
		if err := cfg.preflight(ctx, w); err != nil {
			return rel, err
		}
	}
	if u.DryRun == DryRunClient || u.DryRun == DryRunServer {
		rel.SetStatus(release.StatusPendingUpgrade, "Dry run complete")
		return rel, nil
	}
	if err := cfg.Releases.Create(ctx, rel); err != nil {
		return nil, err
	}
	err = cfg.runHooks(ctx, rel, release.HookPreUpgrade, u.DisableHooks, u.Timeout)
	var res *kube.Result
	if err == nil {
		res, err = cfg.apply(ctx, w)
	}
	if err == nil {
		err = cfg.Kube.Wait(ctx, target, waitOptions(u.Wait, u.WaitForJobs, u.Timeout, u.Atomic))
	}
	if err == nil {
		err = cfg.runHooks(ctx, rel, release.HookPostUpgrade, u.DisableHooks, u.Timeout)
	}
	if err != nil {
		return u.failRelease(ctx, rel, createdBy(res), err)
	}
	current.Info.Status = release.StatusSuperseded
	cfg.record(ctx, current)
	desc := "Upgrade complete"
	if u.Description != "" {
		desc = u.Description
	}
	rel.SetStatus(release.StatusDeployed, desc)
	if err := cfg.Releases.Update(ctx, rel); err != nil {
		return rel, err
	}
	return rel, nil
}

// reuseValues applies --reset-values, --reuse-values and
// --reset-then-reuse-values as Helm 3 does; with none of them and no new
// values, the previous values are kept.
func (u *Upgrade) reuseValues(ch *chart.Chart, current *release.Release, vals values.Values) (values.Values, error) {
	// Helm logs the type conflicts of these coalesces too.
	co := values.Coalescer{Warn: u.Render.Coalesce}
	switch {
	case u.ResetValues:
		return vals, nil
	case u.ReuseValues:
		if current.Chart != nil {
			old, err := co.CoalesceValues(current.Chart, current.Config)
			if err != nil {
				return nil, fmt.Errorf("failed to rebuild old values: %w", err)
			}
			// The old chart's defaults (with the old values) become the
			// new chart's: what --reuse-values means in Helm 3.
			ch.Values = old
		}
		return co.CoalesceTables(vals, current.Config), nil
	case u.ResetThenReuseValues:
		return co.CoalesceTables(vals, current.Config), nil
	case len(vals) == 0 && len(current.Config) > 0:
		u.Cfg.Logger.Debug("reusing the old release's values")
		return current.Config, nil
	}
	return vals, nil
}

func mergeLabels(old, add map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range old {
		out[k] = v
	}
	for k, v := range add {
		if v == "null" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// deployed is the newest deployed revision of h (oldest first), or nil.
func deployed(h []*release.Release) *release.Release {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Info.Status == release.StatusDeployed {
			return h[i]
		}
	}
	return nil
}
