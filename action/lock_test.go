package action_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/action"
	"github.com/chartd/chartd/internal/testutil/cluster"
	"github.com/chartd/chartd/release"
)

// statuses is "revision:status" of each revision.
func statuses(t *testing.T, cfg *action.Configuration, name string) []string {
	t.Helper()
	h, err := (&action.History{Cfg: cfg}).Run(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range h {
		out = append(out, fmt.Sprintf("%d:%s", r.Version, r.Info.Status))
	}
	return out
}

// leavePending stores the next revision of name as a killed client leaves
// it: pending, with nothing applied.
func leavePending(t *testing.T, cfg *action.Configuration, name string, s release.Status) {
	t.Helper()
	ctx := context.Background()
	last, err := cfg.Releases.Last(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	next := *last
	info := *last.Info
	next.Info, next.Version = &info, last.Version+1
	next.SetStatus(s, "Preparing upgrade")
	if err := cfg.Releases.Create(ctx, &next); err != nil {
		t.Fatal(err)
	}
}

// A pending release refuses install and upgrade with Helm's message;
// rollback and unlock recover it, marking the pending revision failed.
func TestPendingLock(t *testing.T) {
	ctx := context.Background()
	ch := writeChart(t, "locked", "0.1.0", map[string]string{"templates/cm.yaml": configMapTpl})
	for _, status := range []release.Status{release.StatusPendingInstall, release.StatusPendingUpgrade, release.StatusPendingRollback} {
		t.Run(string(status), func(t *testing.T) {
			cfg := config(t, cluster.Namespace(t))
			install(t, cfg, "l", ch, nil)
			leavePending(t, cfg, "l", status)
			if _, err := (&action.Upgrade{Cfg: cfg}).Run(ctx, "l", ch, nil); !errors.Is(err, action.ErrPending) || err.Error() != "another operation (install/upgrade/rollback) is in progress" {
				t.Errorf("upgrade: %v", err)
			}
			if _, err := (&action.Install{Cfg: cfg, ReleaseName: "l", Replace: true}).Run(ctx, ch, nil); !errors.Is(err, action.ErrPending) {
				t.Errorf("install --replace: %v", err)
			}
			if diff := cmp.Diff([]string{"1:deployed", "2:" + string(status)}, statuses(t, cfg, "l")); diff != "" {
				t.Errorf("a refused operation changed the history (-want +got):\n%s", diff)
			}
			// Rollback to the last deployed revision recovers.
			if _, err := (&action.Rollback{Cfg: cfg, Version: 1}).Run(ctx, "l"); err != nil {
				t.Fatalf("rollback: %v", err)
			}
			if diff := cmp.Diff([]string{"1:superseded", "2:failed", "3:deployed"}, statuses(t, cfg, "l")); diff != "" {
				t.Errorf("after rollback (-want +got):\n%s", diff)
			}
			r, err := cfg.Releases.Get(ctx, "l", 2)
			if err != nil || r.Info.Description != string(status)+" interrupted: marked failed by Rollback to 1" {
				t.Errorf("revision 2: %v %+v", err, r.Info)
			}
			// Unlock recovers too, and only a pending release.
			if _, err := (&action.Unlock{Cfg: cfg}).Run(ctx, "l"); !errors.Is(err, action.ErrNotPending) {
				t.Errorf("unlock of a deployed release: %v", err)
			}
			leavePending(t, cfg, "l", status)
			u, err := (&action.Unlock{Cfg: cfg}).Run(ctx, "l")
			if err != nil || u.Version != 4 || u.Info.Status != release.StatusFailed {
				t.Fatalf("unlock: %v %+v", err, u)
			}
			if _, err := (&action.Upgrade{Cfg: cfg}).Run(ctx, "l", ch, nil); err != nil {
				t.Errorf("upgrade after unlock: %v", err)
			}
			if diff := cmp.Diff([]string{"1:superseded", "2:failed", "3:superseded", "4:failed", "5:deployed"}, statuses(t, cfg, "l")); diff != "" {
				t.Errorf("after unlock and upgrade (-want +got):\n%s", diff)
			}
		})
	}
}
