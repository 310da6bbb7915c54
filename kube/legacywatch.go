package kube

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// Helm 3 polls its rules every 2 s with a GET per object. Here the same
// rules are judged on informers' caches: one LIST and one WATCH per kind
// and namespace (and for the ReplicaSets of Deployments and the Pods of
// ReplicaSets), and each change is judged as it arrives. Where the
// kubeconfig may not list or watch (a Role granting only get), the wait
// falls back to polling.

// errNoWatch: an informer could not list or watch; poll instead.
var errNoWatch = errors.New("cannot list or watch")

type informerKey struct {
	gvr schema.GroupVersionResource
	ns  string
}

// legacyWatch is the informers of one wait.
type legacyWatch struct {
	c         *Client
	factories map[string]dynamicinformer.DynamicSharedInformerFactory
	informers map[informerKey]cache.SharedIndexInformer
	changed   chan struct{}
	refused   chan struct{}
	refusedBy error
}

func (w *legacyWatch) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *legacyWatch) informer(gvr schema.GroupVersionResource, ns string) (cache.SharedIndexInformer, error) {
	k := informerKey{gvr, ns}
	if inf, ok := w.informers[k]; ok {
		return inf, nil
	}
	f, ok := w.factories[ns]
	if !ok {
		f = dynamicinformer.NewFilteredDynamicSharedInformerFactory(w.c.Dynamic, 0, ns, nil)
		w.factories[ns] = f
	}
	inf := f.ForResource(gvr).Informer()
	err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		if apierrors.IsForbidden(err) || apierrors.IsMethodNotSupported(err) || apierrors.IsUnauthorized(err) {
			select {
			case <-w.refused:
			default:
				w.refusedBy = err
				close(w.refused)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.notify() },
		UpdateFunc: func(any, any) { w.notify() },
		DeleteFunc: func(any) { w.notify() },
	}); err != nil {
		return nil, err
	}
	w.informers[k] = inf
	return inf, nil
}

func (w *legacyWatch) synced() bool {
	for _, inf := range w.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

func (c *Client) waitLegacyWatch(ctx context.Context, pending ResourceList, opt WaitOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	w := &legacyWatch{
		c: c, factories: map[string]dynamicinformer.DynamicSharedInformerFactory{}, informers: map[informerKey]cache.SharedIndexInformer{},
		changed: make(chan struct{}, 1), refused: make(chan struct{}),
	}
	defer func() {
		cancel()
		for _, f := range w.factories {
			f.Shutdown()
		}
	}()
	src := &cacheSource{w: w}
	for _, r := range pending {
		if _, err := w.informer(r.Mapping.Resource, r.Namespace()); err != nil {
			return err
		}
		switch groupKind(r) {
		case "apps/Deployment", "extensions/Deployment":
			if _, err := w.informer(rsGVR, r.Namespace()); err != nil {
				return err
			}
		case "apps/ReplicaSet", "extensions/ReplicaSet", "/ReplicationController":
			if _, err := w.informer(podGVR, r.Namespace()); err != nil {
				return err
			}
		}
	}
	for _, f := range w.factories {
		f.Start(ctx.Done())
	}
	go func() {
		for _, f := range w.factories {
			f.WaitForCacheSync(ctx.Done())
		}
		w.notify()
	}()
	reasons := map[*Resource]string{}
	last := -1
	for {
		select {
		case <-ctx.Done():
			we := &WaitError{Err: ctx.Err()}
			for _, r := range pending {
				reason := reasons[r]
				if reason == "" {
					reason = "not read yet"
				}
				we.Pending = append(we.Pending, fmt.Sprintf("%s %s: %s", r.Kind(), qualified(r), reason))
			}
			return we
		case <-w.refused:
			c.Logger.Debug("cannot watch, polling instead", "err", w.refusedBy)
			return errNoWatch
		case <-w.changed:
		}
		if !w.synced() {
			continue
		}
		var still ResourceList
		for _, r := range pending {
			obj, ok, err := w.informers[informerKey{r.Mapping.Resource, r.Namespace()}].GetIndexer().GetByKey(storeKey(r))
			if err != nil {
				return err
			}
			if !ok {
				return apierrors.NewNotFound(r.Mapping.Resource.GroupResource(), r.Name())
			}
			live, _ := obj.(*unstructured.Unstructured)
			if live == nil {
				return fmt.Errorf("unexpected %T in the cache of %s", obj, r.Mapping.Resource)
			}
			v, err := legacyReady(r, live, src)
			if err != nil {
				return err
			}
			if v.err != nil {
				return v.err
			}
			if !v.ready {
				reasons[r] = v.reason
				still = append(still, r)
			}
		}
		if len(still) == 0 {
			return nil
		}
		if len(still) != last {
			last = len(still)
			c.Logger.Debug("waiting for resources", "not_ready", len(still), "first", still[0].String(), "reason", reasons[still[0]])
		}
		pending = still
	}
}

func storeKey(r *Resource) string {
	if r.Namespace() == "" {
		return r.Name()
	}
	return r.Namespace() + "/" + r.Name()
}

// cacheSource serves the rules from the informers' caches.
type cacheSource struct{ w *legacyWatch }

func (s *cacheSource) replicaSets(ns string) ([]appsv1.ReplicaSet, error) {
	var out []appsv1.ReplicaSet
	for _, obj := range s.w.informers[informerKey{rsGVR, ns}].GetStore().List() {
		u, _ := obj.(*unstructured.Unstructured)
		if u == nil {
			continue
		}
		rs, err := fromUnstructured[appsv1.ReplicaSet](u)
		if err != nil {
			return nil, err
		}
		out = append(out, *rs)
	}
	return out, nil
}

func (s *cacheSource) pods(ns string, sel *metav1.LabelSelector, set map[string]string) ([]corev1.Pod, error) {
	selector := labels.SelectorFromSet(set)
	if sel != nil {
		var err error
		if selector, err = metav1.LabelSelectorAsSelector(sel); err != nil {
			return nil, fmt.Errorf("invalid label selector: %w", err)
		}
	}
	var out []corev1.Pod
	for _, obj := range s.w.informers[informerKey{podGVR, ns}].GetStore().List() {
		u, _ := obj.(*unstructured.Unstructured)
		if u == nil || !selector.Matches(labels.Set(u.GetLabels())) {
			continue
		}
		p, err := fromUnstructured[corev1.Pod](u)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, nil
}
