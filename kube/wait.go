package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// WaitStrategy is how --wait judges readiness.
type WaitStrategy string

const (
	// WaitNone does not wait.
	WaitNone WaitStrategy = ""
	// WaitLegacy is Helm 3's per-kind rules (what a bare --wait means
	// here, as in Helm 3).
	WaitLegacy WaitStrategy = "legacy"
	// WaitWatcher is Helm 4's: kstatus over watches, which also judges
	// custom resources by their conditions.
	WaitWatcher WaitStrategy = "watcher"
	// WaitHookOnly waits for hooks only, not for the release's objects.
	WaitHookOnly WaitStrategy = "hookOnly"
)

// ParseWaitStrategy reads --wait's value: "true" (a bare --wait) is
// legacy, "false" or "" none.
func ParseWaitStrategy(s string) (WaitStrategy, error) {
	switch s {
	case "", "false":
		return WaitNone, nil
	case "true", string(WaitLegacy):
		return WaitLegacy, nil
	case string(WaitWatcher):
		return WaitWatcher, nil
	case string(WaitHookOnly):
		return WaitHookOnly, nil
	}
	return "", fmt.Errorf("invalid wait input %q. Valid inputs are watcher, hookOnly, and legacy", s)
}

// WaitOptions tune Wait and WaitForDelete.
type WaitOptions struct {
	Strategy WaitStrategy
	// Jobs also waits for Jobs to complete (--wait-for-jobs).
	Jobs bool
	// Timeout bounds the wait; 0 means only ctx does.
	Timeout time.Duration
}

// ErrNotReady: the wait ended (time ran out, or ctx was cancelled) with
// objects not ready. The WaitError says which.
var ErrNotReady = errors.New("resources not ready")

// WaitError names what was not ready (or not deleted) when the wait
// ended. Its message begins with the context's error, as Helm 3's does
// ("context deadline exceeded"), and then lists the objects, as Helm 4's
// does.
type WaitError struct {
	// Err is ctx's error.
	Err error
	// Pending are "Kind namespace/name: reason" lines.
	Pending []string
}

func (e *WaitError) Error() string {
	if len(e.Pending) == 0 {
		return e.Err.Error()
	}
	const show = 10
	p := e.Pending
	more := ""
	if len(p) > show {
		more = fmt.Sprintf("; and %d more", len(p)-show)
		p = p[:show]
	}
	return fmt.Sprintf("%s: %s%s", e.Err, strings.Join(p, "; "), more)
}

// Is makes errors.Is(err, ErrNotReady) and errors.Is(err,
// context.DeadlineExceeded) both hold.
func (e *WaitError) Is(target error) bool { return target == ErrNotReady }

// Unwrap returns ctx's error.
func (e *WaitError) Unwrap() error { return e.Err }

// Wait blocks until every object of l is ready by opt.Strategy, ctx ends
// or opt.Timeout passes.
func (c *Client) Wait(ctx context.Context, l ResourceList, opt WaitOptions) error {
	if opt.Strategy == WaitNone || opt.Strategy == WaitHookOnly || len(l) == 0 {
		return nil
	}
	ctx, cancel := withTimeout(ctx, opt.Timeout)
	defer cancel()
	c.Logger.Debug("beginning wait for resources", "count", len(l), "timeout", opt.Timeout, "strategy", opt.Strategy)
	start := time.Now()
	var err error
	if opt.Strategy == WaitWatcher {
		err = c.waitWatcher(ctx, l, opt)
	} else {
		err = c.waitLegacy(ctx, l, opt)
	}
	c.Logger.Debug("wait for resources ended", "elapsed", time.Since(start).Round(time.Millisecond), "err", err)
	return err
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Where it cannot watch, the legacy strategy polls, as Helm 3 does (every
// 2 s), but reads each round with Fetch (one LIST for many objects of a
// kind, a GET each where LIST is refused) and only the objects not yet
// ready, so a round costs a few requests, not one per object; it can
// then afford to start at 200 ms and grow only to 1 s.
const (
	pollFirst = 200 * time.Millisecond
	pollMax   = time.Second
	// pollRetries is how many rounds in a row a retryable error (a 5xx,
	// a 429, a broken connection) may fail before the wait gives up, as
	// Helm 3 allows.
	pollRetries = 30
)

// poller runs round until it reports done, sleeping between rounds on a
// timer that ctx interrupts.
func poller(ctx context.Context, round func() (bool, error)) error {
	interval := pollFirst
	t := time.NewTimer(0)
	defer t.Stop()
	fails := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		done, err := round()
		switch {
		case err != nil && retryable(err) && fails < pollRetries:
			fails++
		case err != nil:
			return err
		case done:
			return nil
		default:
			fails = 0
		}
		t.Reset(interval)
		interval = min(interval*3/2, pollMax)
	}
}

func retryable(err error) bool {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		code := se.Status().Code
		return code == 0 || code == http.StatusTooManyRequests || (code >= 500 && code != http.StatusNotImplemented)
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

func (c *Client) waitLegacy(ctx context.Context, l ResourceList, opt WaitOptions) error {
	var pending ResourceList
	for _, r := range l {
		if hasLegacyRule(r, opt.Jobs) {
			pending = append(pending, r)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	if err := c.waitLegacyWatch(ctx, pending, opt); !errors.Is(err, errNoWatch) {
		return err
	}
	return c.waitLegacyPoll(ctx, pending, opt)
}

// waitLegacyPoll judges the rules on objects read afresh each round.
func (c *Client) waitLegacyPoll(ctx context.Context, pending ResourceList, opt WaitOptions) error {
	reasons := map[*Resource]string{}
	err := poller(ctx, func() (bool, error) {
		lives, err := c.Fetch(ctx, pending)
		if err != nil {
			return false, err
		}
		src := &roundSource{ctx: ctx, c: c}
		var still ResourceList
		for i, r := range pending {
			live := lives[i]
			if live == nil {
				return false, apierrors.NewNotFound(r.Mapping.Resource.GroupResource(), r.Name())
			}
			v, err := legacyReady(r, live, src)
			if err != nil {
				return false, err
			}
			if v.err != nil {
				return false, v.err
			}
			if !v.ready {
				reasons[r] = v.reason
				still = append(still, r)
			}
		}
		pending = still
		if len(still) > 0 {
			c.Logger.Debug("waiting for resources", "not_ready", len(still), "first", still[0].String(), "reason", reasons[still[0]])
		}
		return len(still) == 0, nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
		return err
	}
	we := &WaitError{Err: ctx.Err()}
	for _, r := range pending {
		we.Pending = append(we.Pending, fmt.Sprintf("%s %s: %s", r.Kind(), qualified(r), reasons[r]))
	}
	return we
}

func qualified(r *Resource) string {
	if r.Namespace() == "" {
		return r.Name()
	}
	return r.Namespace() + "/" + r.Name()
}

// roundSource reads, once per round and namespace, what the rules of
// Deployments, ReplicaSets and ReplicationControllers look at.
type roundSource struct {
	ctx context.Context
	c   *Client
	rss map[string][]appsv1.ReplicaSet
}

var (
	rsGVR  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	podGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)

func (s *roundSource) replicaSets(ns string) ([]appsv1.ReplicaSet, error) {
	if l, ok := s.rss[ns]; ok {
		return l, nil
	}
	ul, err := s.c.Dynamic.Resource(rsGVR).Namespace(ns).List(s.ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]appsv1.ReplicaSet, 0, len(ul.Items))
	for i := range ul.Items {
		rs, err := fromUnstructured[appsv1.ReplicaSet](&ul.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *rs)
	}
	if s.rss == nil {
		s.rss = map[string][]appsv1.ReplicaSet{}
	}
	s.rss[ns] = out
	return out, nil
}

func (s *roundSource) pods(ns string, sel *metav1.LabelSelector, set map[string]string) ([]corev1.Pod, error) {
	var selector labels.Selector
	if sel != nil {
		var err error
		if selector, err = metav1.LabelSelectorAsSelector(sel); err != nil {
			return nil, fmt.Errorf("invalid label selector: %w", err)
		}
	} else {
		selector = labels.SelectorFromSet(set)
	}
	ul, err := s.c.Dynamic.Resource(podGVR).Namespace(ns).List(s.ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	out := make([]corev1.Pod, 0, len(ul.Items))
	for i := range ul.Items {
		p, err := fromUnstructured[corev1.Pod](&ul.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, nil
}

// WaitForDelete blocks until no object of l exists (uninstall --wait),
// ctx ends or opt.Timeout passes. The watcher strategy watches; the
// others poll as Helm 3 does.
func (c *Client) WaitForDelete(ctx context.Context, l ResourceList, opt WaitOptions) error {
	if opt.Strategy == WaitNone || opt.Strategy == WaitHookOnly || len(l) == 0 {
		return nil
	}
	ctx, cancel := withTimeout(ctx, opt.Timeout)
	defer cancel()
	if opt.Strategy == WaitWatcher {
		return c.waitDeleteWatcher(ctx, l)
	}
	pending := l
	err := poller(ctx, func() (bool, error) {
		lives, err := c.Fetch(ctx, pending)
		if err != nil {
			return false, err
		}
		var still ResourceList
		for i, r := range pending {
			if lives[i] != nil {
				still = append(still, r)
			}
		}
		pending = still
		return len(still) == 0, nil
	})
	if err == nil || ctx.Err() == nil {
		return err
	}
	we := &WaitError{Err: ctx.Err()}
	for _, r := range pending {
		we.Pending = append(we.Pending, fmt.Sprintf("%s %s: still exists", r.Kind(), qualified(r)))
	}
	sort.Strings(we.Pending)
	return we
}
