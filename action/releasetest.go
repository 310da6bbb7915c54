package action

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/release"
)

// ReleaseTesting is `helm test RELEASE`: it runs the release's test hooks
// and waits for their pods.
type ReleaseTesting struct {
	Cfg     *Configuration
	Timeout time.Duration
	// Include and Exclude are --filter's name=NAME and !name=NAME: run
	// only the hooks named in Include (when any), and none in Exclude.
	Include, Exclude []string
}

// Run runs the tests of the newest revision of name and records their
// runs in it. It returns the revision (for printing) with the first
// failure; the revision is nil only when it could not be read.
func (r *ReleaseTesting) Run(ctx context.Context, name string) (*release.Release, error) {
	cfg := r.Cfg
	if err := render.ValidateReleaseName(name); err != nil {
		return nil, fmt.Errorf("releaseTest: Release name is invalid: %s", name)
	}
	rel, err := cfg.Releases.Last(ctx, name)
	if err != nil {
		return nil, err
	}
	var skipped, executing []*release.Hook
	for _, h := range rel.Hooks {
		if r.skips(h.Name) {
			skipped = append(skipped, h)
		} else {
			executing = append(executing, h)
		}
	}
	err = cfg.execHookList(ctx, rel, hooksOf(executing, release.HookTest), release.HookTest, r.Timeout)
	// Helm lists the skipped hooks first afterwards; status prints tests in
	// this order, so keep it.
	rel.Hooks = append(skipped, executing...)
	if uerr := cfg.Releases.Update(ctx, rel); err == nil {
		err = uerr
	}
	return rel, err
}

func (r *ReleaseTesting) skips(hook string) bool {
	if slices.Contains(r.Exclude, hook) {
		return true
	}
	return len(r.Include) > 0 && !slices.Contains(r.Include, hook)
}

// Logs streams the logs of rel's test pods (those the filters select), in
// hook order, to fn: what `helm test --logs` prints. A pod whose logs the
// apiserver cannot serve (no kubelet ran it, say) ends it with an error
// naming the pod and the apiserver's reason.
func (r *ReleaseTesting) Logs(ctx context.Context, rel *release.Release, fn func(pod string, log io.Reader) error) error {
	pods := r.Cfg.clients.CoreV1().Pods(r.Cfg.Namespace)
	for _, h := range hooksOf(rel.Hooks, release.HookTest) {
		if r.skips(h.Name) {
			continue
		}
		rc, err := pods.GetLogs(h.Name, &corev1.PodLogOptions{}).Stream(ctx)
		if err != nil {
			return fmt.Errorf("unable to get pod logs for %s: %w", h.Name, err)
		}
		err = fn(h.Name, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("unable to write pod logs for %s: %w", h.Name, err)
		}
	}
	return nil
}
