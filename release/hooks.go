package release

import "slices"

// Hook events, as Helm spells them in helm.sh/hook and in a stored hook.
const (
	HookPreInstall   = "pre-install"
	HookPostInstall  = "post-install"
	HookPreDelete    = "pre-delete"
	HookPostDelete   = "post-delete"
	HookPreUpgrade   = "pre-upgrade"
	HookPostUpgrade  = "post-upgrade"
	HookPreRollback  = "pre-rollback"
	HookPostRollback = "post-rollback"
	HookTest         = "test"
)

// Hook delete policies (helm.sh/hook-delete-policy).
const (
	HookSucceeded          = "hook-succeeded"
	HookFailed             = "hook-failed"
	HookBeforeHookCreation = "before-hook-creation"
)

// Hook phases of HookRun, as Helm records them.
const (
	HookPhaseUnknown   = "Unknown"
	HookPhaseRunning   = "Running"
	HookPhaseSucceeded = "Succeeded"
	HookPhaseFailed    = "Failed"
)

// HasEvent reports whether the hook runs on event.
func (h *Hook) HasEvent(event string) bool { return slices.Contains(h.Events, event) }

// HasDeletePolicy reports whether the hook is deleted on policy.
func (h *Hook) HasDeletePolicy(policy string) bool { return slices.Contains(h.DeletePolicies, policy) }
