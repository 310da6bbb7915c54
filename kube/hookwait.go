package kube

import (
	"context"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// WatchUntilDone waits, for at most timeout (0: no limit), until every Job
// of l has completed and every Pod of l has succeeded; other kinds count as
// done at once, as in Helm 3's WatchUntilReady (what hooks and tests wait
// with). A failed Job or Pod, or the timeout ("timed out waiting for the
// condition"), is an error; the failures of a batch are joined as Helm's
// are.
func (c *Client) WatchUntilDone(parent context.Context, l ResourceList, timeout time.Duration) error {
	ctx, cancel := watchtools.ContextWithOptionalTimeout(parent, timeout)
	defer cancel()
	errs := make([]error, len(l))
	var wg sync.WaitGroup
	for i, r := range l {
		if k := r.Kind(); k != "Job" && k != "Pod" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.watchUntilDone(ctx, r)
		}()
	}
	wg.Wait()
	if err := parent.Err(); err != nil {
		// Interrupted (Ctrl-C), not timed out: say so.
		return err
	}
	var out Errors
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	if len(out) > 0 {
		return out
	}
	return nil
}

// watchUntilDone watches one Job or Pod by name, from a fresh list, so an
// object that finished before the watch began is seen too.
func (c *Client) watchUntilDone(ctx context.Context, r *Resource) error {
	c.Logger.Debug("watching for completion", "kind", r.Kind(), "name", r.Name())
	_, err := watchtools.UntilWithSync(ctx, c.listWatch(r), &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
		switch e.Type {
		case watch.Added, watch.Modified:
			u, ok := e.Object.(*unstructured.Unstructured)
			if !ok {
				return true, fmt.Errorf("expected %s to be unstructured, got %T", r.Name(), e.Object)
			}
			if r.Kind() == "Job" {
				return jobDone(u, r.Name())
			}
			return podDone(u, r.Name())
		case watch.Deleted:
			// Helm counts a hook deleted under it as done.
			return true, nil
		case watch.Error:
			return true, fmt.Errorf("failed to deploy %s", r.Name())
		}
		return false, nil
	})
	return err
}

func jobDone(u *unstructured.Unstructured, name string) (bool, error) {
	var j batchv1.Job
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &j); err != nil {
		return true, fmt.Errorf("expected %s to be a *batch.Job: %w", name, err)
	}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, nil
		case batchv1.JobFailed:
			return true, fmt.Errorf("job %s failed: %s", name, c.Reason)
		}
	}
	return false, nil
}

func podDone(u *unstructured.Unstructured, name string) (bool, error) {
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	switch corev1.PodPhase(phase) {
	case corev1.PodSucceeded:
		return true, nil
	case corev1.PodFailed:
		return true, fmt.Errorf("pod %s failed", name)
	}
	return false, nil
}

// listWatch lists and watches the one object r names.
func (c *Client) listWatch(r *Resource) cache.ListerWatcher {
	ri := c.resource(r)
	sel := fields.OneTermEqualSelector("metadata.name", r.Name()).String()
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return ri.Watch(ctx, o)
		},
	}
}
