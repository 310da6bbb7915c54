package action

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
)

// DefaultTimeout is --timeout's default, Helm's: how long any one wait
// (a hook Job or Pod, a hook's deletion) may take.
const DefaultTimeout = 5 * time.Minute

// runHooks runs the release's hooks for event unless disabled, wording a
// failure as Helm 3 does for that event. Hooks record their LastRun in rel
// (written to the store as each starts, and by the caller at the end).
func (c *Configuration) runHooks(ctx context.Context, rel *release.Release, event string, disabled bool, timeout time.Duration) error {
	if disabled {
		c.Logger.Debug("hooks disabled", "event", event, "name", rel.Name)
		return nil
	}
	err := c.execHooks(ctx, rel, event, timeout)
	if err == nil {
		return nil
	}
	switch event {
	case release.HookPreInstall, release.HookPostInstall:
		return fmt.Errorf("failed %s: %w", event, err)
	case release.HookPreUpgrade, release.HookPostUpgrade:
		return fmt.Errorf("%s hooks failed: %w", event, err)
	}
	return err
}

// execHooks runs the hooks of rel for event one after the other, in Helm's
// order: by weight, then by name, the render's kind order breaking ties.
// Each is first deleted if its policy is before-hook-creation (the
// default), created, and waited for (Jobs and Pods until they finish).
// After the last, those with hook-succeeded are deleted; a failed hook is
// deleted if it has hook-failed, and the ones that succeeded before it if
// they have hook-succeeded.
func (c *Configuration) execHooks(ctx context.Context, rel *release.Release, event string, timeout time.Duration) error {
	return c.execHookList(ctx, rel, hooksFor(rel, event), event, timeout)
}

// execHookList runs hooks, some of rel's, recording their runs in rel.
func (c *Configuration) execHookList(ctx context.Context, rel *release.Release, hooks []*release.Hook, event string, timeout time.Duration) error {
	for i, h := range hooks {
		if len(h.DeletePolicies) == 0 {
			h.DeletePolicies = []string{release.HookBeforeHookCreation}
		}
		if err := c.deleteHookByPolicy(ctx, h, release.HookBeforeHookCreation, timeout); err != nil {
			return err
		}
		res, err := c.Kube.Build(ctx, h.Manifest)
		if err != nil {
			return fmt.Errorf("unable to build kubernetes object for %s hook %s: %w", event, h.Path, err)
		}
		h.LastRun = release.HookRun{StartedAt: release.Now(), Phase: release.HookPhaseRunning}
		c.record(ctx, rel)
		// Should neither success nor failure be noted below, Unknown is
		// the truest phase to leave, as in Helm.
		h.LastRun.Phase = release.HookPhaseUnknown
		if err := c.Kube.Create(ctx, res, kube.CreateOptions{}); err != nil {
			h.LastRun.CompletedAt = release.Now()
			h.LastRun.Phase = release.HookPhaseFailed
			return fmt.Errorf("warning: Hook %s %s failed: %w", event, h.Path, err)
		}
		err = c.Kube.WatchUntilDone(ctx, res, timeout)
		h.LastRun.CompletedAt = release.Now()
		if err != nil {
			h.LastRun.Phase = release.HookPhaseFailed
			c.outputLogsByPolicy(ctx, h, rel.Namespace, release.HookFailed)
			if derr := c.deleteHookByPolicy(ctx, h, release.HookFailed, timeout); derr != nil {
				// The hook's failure is what the user must see.
				c.Logger.Warn("error deleting the hook resource on hook failure", "hook", h.Name, "err", derr)
			}
			if derr := c.deleteHooksByPolicy(ctx, hooks[:i], release.HookSucceeded, timeout); derr != nil {
				return derr
			}
			return err
		}
		h.LastRun.Phase = release.HookPhaseSucceeded
	}
	for i := len(hooks) - 1; i >= 0; i-- {
		c.outputLogsByPolicy(ctx, hooks[i], rel.Namespace, release.HookSucceeded)
		if err := c.deleteHookByPolicy(ctx, hooks[i], release.HookSucceeded, timeout); err != nil {
			return err
		}
	}
	return nil
}

// hooksFor returns rel's hooks for event in execution order.
func hooksFor(rel *release.Release, event string) []*release.Hook {
	return hooksOf(rel.Hooks, event)
}

// hooksOf returns the hooks of l for event in execution order.
func hooksOf(l []*release.Hook, event string) []*release.Hook {
	var hooks []*release.Hook
	for _, h := range l {
		if h.HasEvent(event) {
			hooks = append(hooks, h)
		}
	}
	// Stored hooks are in the render's kind order: a stable sort keeps it
	// among hooks of equal weight and name.
	sort.SliceStable(hooks, func(i, j int) bool {
		if hooks[i].Weight == hooks[j].Weight {
			return hooks[i].Name < hooks[j].Name
		}
		return hooks[i].Weight < hooks[j].Weight
	})
	return hooks
}

// deleteHookByPolicy deletes the hook's objects when it has policy, and
// waits until they are gone. CRDs are never deleted: the garbage
// collection that would follow could take much with it.
func (c *Configuration) deleteHookByPolicy(ctx context.Context, h *release.Hook, policy string, timeout time.Duration) error {
	if h.Kind == "CustomResourceDefinition" || !h.HasDeletePolicy(policy) {
		return nil
	}
	res, err := c.Kube.Build(ctx, h.Manifest)
	if err != nil {
		return fmt.Errorf("unable to build kubernetes object for deleting hook %s: %w", h.Path, err)
	}
	if _, _, err := c.Kube.Delete(ctx, res, kube.DeleteOptions{}); err != nil {
		return err
	}
	// Watched, whatever --wait says: the hook's re-creation must not
	// collide with the object being deleted.
	return c.Kube.WaitForDelete(ctx, res, kube.WaitOptions{Strategy: kube.WaitWatcher, Timeout: timeout})
}

func (c *Configuration) deleteHooksByPolicy(ctx context.Context, hooks []*release.Hook, policy string, timeout time.Duration) error {
	for _, h := range hooks {
		if err := c.deleteHookByPolicy(ctx, h, policy, timeout); err != nil {
			return err
		}
	}
	return nil
}

// failRollbackHook marks a rollback whose hook failed as failed. Helm 3 leaves it
// pending-rollback, which locks the release until someone repairs it by
// hand (helm#10549); a failed revision can be rolled back or upgraded.
func failRollbackHook(ctx context.Context, c *Configuration, rel *release.Release, err error) error {
	rel.SetStatus(release.StatusFailed, fmt.Sprintf("Rollback %q failed: %s", rel.Name, err))
	c.record(ctx, rel)
	return err
}

// joinErrors joins errs with "; ", as Helm's messages list several; nil
// for none.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return joined(errs)
}

type joined []error

func (j joined) Error() string {
	s := ""
	for i, e := range j {
		if i > 0 {
			s += "; "
		}
		s += e.Error()
	}
	return s
}

func (j joined) Unwrap() []error { return j }
