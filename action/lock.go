package action

import (
	"context"
	"errors"
	"fmt"

	"github.com/chartd/chartd/release"
)

// The pending-* lock. While an install, upgrade or rollback runs, the
// release's newest revision is pending-install, pending-upgrade or
// pending-rollback; install and upgrade refuse such a release with
// ErrPending (Helm's words), and two that race past that check collide
// on creating the same revision, which the store refuses. A client killed
// mid-operation leaves its revision pending for good (helm#30601,
// #10549). Two ways out, as the README says: rollback, which Helm 3 never
// refused on a pending release and users already reach for, or Unlock;
// both mark the interrupted revision failed first.

// ErrNotPending: unlock of a release whose newest revision is not pending.
var ErrNotPending = errors.New("is not pending: nothing to unlock")

// checkLock returns ErrPending when last is pending.
func checkLock(last *release.Release) error {
	if last != nil && last.Info != nil && last.Info.Status.IsPending() {
		return ErrPending
	}
	return nil
}

// markInterrupted marks a pending revision failed, saying what replaced
// it, and stores it.
func (c *Configuration) markInterrupted(ctx context.Context, r *release.Release, by string) error {
	was := r.Info.Status
	r.SetStatus(release.StatusFailed, fmt.Sprintf("%s interrupted: marked failed by %s", was, by))
	return c.Releases.Update(ctx, r)
}

// Unlock is `helm unlock RELEASE`: it marks the release's pending newest
// revision failed, so the release can be upgraded, rolled back, installed
// again with --replace or uninstalled. Run it only when the client that
// started the operation is gone: a live one would go on regardless.
type Unlock struct {
	Cfg *Configuration
}

// Run unlocks name and returns the revision it marked failed.
func (u *Unlock) Run(ctx context.Context, name string) (*release.Release, error) {
	h, err := u.Cfg.history(ctx, name)
	if err != nil {
		return nil, err
	}
	last := h[len(h)-1]
	if !last.Info.Status.IsPending() {
		return nil, fmt.Errorf("release %q (revision %d, %s) %w", name, last.Version, last.Info.Status, ErrNotPending)
	}
	if err := u.Cfg.markInterrupted(ctx, last, "unlock"); err != nil {
		return nil, err
	}
	return last, nil
}
