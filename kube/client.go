package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/retry"
)

// ResourcePolicyAnno is the annotation whose value "keep" keeps an object
// when its release deletes it.
const (
	ResourcePolicyAnno = "helm.sh/resource-policy"
	KeepPolicy         = "keep"
)

// FieldManager is the manager name the client writes with, Helm's.
const FieldManager = "helm"

// Client is a connection to one cluster.
type Client struct {
	Dynamic   dynamic.Interface
	Discovery discovery.CachedDiscoveryInterface
	Mapper    meta.ResettableRESTMapper
	// Namespace is given to namespaced objects that name none.
	Namespace string
	Logger    *slog.Logger

	// tc is the built-in types' apply schema (see apply.go), parsed once.
	tcOnce sync.Once
	tc     managedfields.TypeConverter
}

// New connects to the cluster of cfg. Discovery is cached in memory for
// the life of the client, so one command asks once.
func New(cfg *rest.Config, namespace string, logger *slog.Logger) (*Client, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(dc)
	return &Client{
		Dynamic: dyn, Discovery: cached,
		Mapper:    restmapper.NewDeferredDiscoveryRESTMapper(cached),
		Namespace: namespace, Logger: logger,
	}, nil
}

// ServerVersion is the cluster's version.
func (c *Client) ServerVersion(context.Context) (*version.Info, error) {
	return c.Discovery.ServerVersion()
}

// APIVersions lists the group/versions and group/version/kinds the cluster
// serves, for .Capabilities.APIVersions.
func (c *Client) APIVersions(context.Context) ([]string, error) {
	_, lists, err := c.Discovery.ServerGroupsAndResources()
	if err != nil && len(lists) == 0 {
		return nil, err
	}
	var out []string
	for _, l := range lists {
		out = append(out, l.GroupVersion)
		for _, r := range l.APIResources {
			out = append(out, l.GroupVersion+"/"+r.Kind)
		}
	}
	return out, nil
}

// ResetMapper forgets discovery, after CRDs were installed.
func (c *Client) ResetMapper() {
	c.Discovery.Invalidate()
	c.Mapper.Reset()
}

// Build parses manifest and maps each object to its resource; namespaced
// objects without a namespace get the client's.
func (c *Client) Build(_ context.Context, manifest string) (ResourceList, error) {
	objs, err := decode(manifest)
	if err != nil {
		return nil, err
	}
	out := make(ResourceList, 0, len(objs))
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, noMapping(u, gvk)
		}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			if u.GetNamespace() == "" {
				u.SetNamespace(c.Namespace)
			}
		} else {
			u.SetNamespace("")
		}
		out = append(out, &Resource{Object: u, Mapping: m})
	}
	return out, nil
}

func (c *Client) resource(r *Resource) dynamic.ResourceInterface {
	ri := c.Dynamic.Resource(r.Mapping.Resource)
	if r.Mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return ri.Namespace(r.Namespace())
	}
	return ri
}

// Get reads the live object; apierrors.IsNotFound tells a missing one.
func (c *Client) Get(ctx context.Context, r *Resource) (*unstructured.Unstructured, error) {
	return c.resource(r).Get(ctx, r.Name(), metav1.GetOptions{})
}

// CreateOptions tune Create.
type CreateOptions struct {
	// DryRun asks the server to validate without persisting.
	DryRun bool
}

// Create creates the objects in order. Consecutive objects of one kind are
// independent of each other, so they are created concurrently, as Helm
// does; a kind waits for the kinds before it.
func (c *Client) Create(ctx context.Context, l ResourceList, opt CreateOptions) error {
	co := metav1.CreateOptions{FieldManager: FieldManager}
	if opt.DryRun {
		co.DryRun = []string{metav1.DryRunAll}
	}
	err := perKind(l, func(r *Resource) error {
		created, err := c.resource(r).Create(ctx, r.Object, co)
		if err != nil {
			return err
		}
		c.Logger.Debug("created", "kind", r.Kind(), "name", r.Name(), "namespace", r.Namespace())
		if !opt.DryRun {
			r.Object = created
		}
		return nil
	})
	if err == nil {
		return nil
	}
	var errs Errors
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = append(errs, j.Unwrap()...)
	} else {
		errs = append(errs, err)
	}
	return errs
}

// maxParallel bounds the concurrent requests of one batch.
const maxParallel = 16

// perKind runs fn over l, concurrently within each run of one kind.
func perKind(l ResourceList, fn func(*Resource) error) error {
	for i := 0; i < len(l); {
		j := i + 1
		for j < len(l) && l[j].Kind() == l[i].Kind() {
			j++
		}
		if err := parallel(l[i:j], fn); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func parallel(l ResourceList, fn func(*Resource) error) error {
	if len(l) == 1 {
		return fn(l[0])
	}
	var wg sync.WaitGroup
	errs := make([]error, len(l))
	sem := make(chan struct{}, maxParallel)
	for i, r := range l {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(r)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Result says what an update did.
type Result struct {
	Created, Updated, Deleted ResourceList
}

// UpdateOptions tune Update.
type UpdateOptions struct {
	// Force replaces objects (PUT) instead of patching them (Helm's
	// --force, Helm 4's --force-replace).
	Force bool
	// DryRun asks the server to validate without persisting.
	DryRun bool
}

// Update moves the cluster from original (the objects of the old
// manifest) to target: objects missing from the cluster are created;
// objects present are patched with a 3-way strategic merge of original,
// target and the live object (a JSON merge patch from original to target
// for kinds without a Go type, CRDs' objects and CRDs, as in Helm 3);
// objects of original absent from target are deleted, except those
// annotated helm.sh/resource-policy: keep. A target that exists in the
// cluster must be in original: the caller adds adopted objects there.
func (c *Client) Update(ctx context.Context, original, target ResourceList, opt UpdateOptions) (*Result, error) {
	res := &Result{}
	var mu sync.Mutex
	add := func(l *ResourceList, r *Resource) {
		mu.Lock()
		*l = append(*l, r)
		mu.Unlock()
	}
	lives, err := c.Fetch(ctx, target)
	if err != nil {
		return res, fmt.Errorf("could not get information about the resource: %w", err)
	}
	live := map[*Resource]*unstructured.Unstructured{}
	for i, r := range target {
		live[r] = lives[i]
	}
	err = perKind(target, func(r *Resource) error {
		live := live[r]
		if live == nil {
			add(&res.Created, r)
			co := metav1.CreateOptions{FieldManager: FieldManager}
			if opt.DryRun {
				co.DryRun = []string{metav1.DryRunAll}
			}
			if _, err := c.resource(r).Create(ctx, r.Object, co); err != nil {
				return fmt.Errorf("failed to create resource: %w", err)
			}
			return nil
		}
		old := original.Get(r)
		if old == nil {
			return fmt.Errorf("no %s with the name %q found", r.Kind(), r.Name())
		}
		if err := c.update(ctx, old, r, live, opt); err != nil {
			return err
		}
		add(&res.Updated, r)
		return nil
	})
	if err != nil {
		return res, err
	}
	c.deleteDropped(ctx, original, target, opt.DryRun, res)
	return res, nil
}

func (c *Client) update(ctx context.Context, old, target *Resource, live *unstructured.Unstructured, opt UpdateOptions) error {
	if opt.Force {
		obj := target.Object.DeepCopy()
		obj.SetResourceVersion(live.GetResourceVersion())
		uo := metav1.UpdateOptions{FieldManager: FieldManager}
		if opt.DryRun {
			uo.DryRun = []string{metav1.DryRunAll}
		}
		// A replacement overwrites whatever is live, so a conflict (a
		// controller wrote the object since it was read) is met by
		// reading its resourceVersion again, as client-go's retry helper
		// is meant for.
		ri := c.resource(target)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			_, err := ri.Update(ctx, obj, uo)
			if apierrors.IsConflict(err) {
				cur, gerr := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
				if gerr != nil {
					return gerr
				}
				obj.SetResourceVersion(cur.GetResourceVersion())
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("failed to replace object: %w", err)
		}
		return nil
	}
	patch, pt, err := CreatePatch(old.Object, target.Object, live)
	if err != nil {
		return fmt.Errorf("failed to create patch: %w", err)
	}
	if string(patch) == "{}" {
		c.Logger.Debug("no changes", "kind", target.Kind(), "name", target.Name())
		return nil
	}
	po := metav1.PatchOptions{FieldManager: FieldManager}
	if opt.DryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := c.resource(target).Patch(ctx, target.Name(), pt, patch, po); err != nil {
		return fmt.Errorf("cannot patch %q with kind %s: %w", target.Name(), target.Kind(), err)
	}
	return nil
}

// CreatePatch computes Helm 3's update patch: a 3-way strategic merge
// patch (original, modified, current) for kinds with a registered Go type,
// else a JSON merge patch from original to modified.
func CreatePatch(original, modified, current *unstructured.Unstructured) ([]byte, types.PatchType, error) {
	oldData, err := json.Marshal(original)
	if err != nil {
		return nil, "", err
	}
	newData, err := json.Marshal(modified)
	if err != nil {
		return nil, "", err
	}
	typed, err := scheme.Scheme.New(modified.GroupVersionKind())
	if err != nil {
		p, err := jsonpatch.CreateMergePatch(oldData, newData)
		return p, types.MergePatchType, err
	}
	curData, err := json.Marshal(current)
	if err != nil {
		return nil, "", err
	}
	pm, err := strategicpatch.NewPatchMetaFromStruct(typed)
	if err != nil {
		return nil, "", err
	}
	p, err := strategicpatch.CreateThreeWayMergePatch(oldData, newData, curData, pm, true)
	return p, types.StrategicMergePatchType, err
}

// DeleteOptions tune Delete.
type DeleteOptions struct {
	DryRun bool
	// Propagation is how dependents go; empty means background, Helm's
	// default.
	Propagation metav1.DeletionPropagation
}

// ParsePropagation reads --cascade: background (or empty), orphan or
// foreground.
func ParsePropagation(s string) (metav1.DeletionPropagation, error) {
	switch s {
	case "", "background":
		return metav1.DeletePropagationBackground, nil
	case "orphan":
		return metav1.DeletePropagationOrphan, nil
	case "foreground":
		return metav1.DeletePropagationForeground, nil
	}
	return "", fmt.Errorf("invalid cascade value (%s). Must be \"background\", \"foreground\", or \"orphan\"", s)
}

// Delete deletes the objects in the order given (background propagation),
// skipping objects already gone and those annotated
// helm.sh/resource-policy: keep, which it returns as kept.
func (c *Client) Delete(ctx context.Context, l ResourceList, opt DeleteOptions) (deleted, kept ResourceList, err error) {
	var errs []error
	for _, r := range l {
		k, err := c.delete(ctx, r, opt.DryRun, opt.Propagation)
		switch {
		case err != nil:
			errs = append(errs, err)
		case k:
			kept = append(kept, r)
		default:
			deleted = append(deleted, r)
		}
	}
	return deleted, kept, errors.Join(errs...)
}

func (c *Client) delete(ctx context.Context, r *Resource, dryRun bool, prop metav1.DeletionPropagation) (kept bool, err error) {
	live, err := c.Get(ctx, r)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if live.GetAnnotations()[ResourcePolicyAnno] == KeepPolicy {
		return true, nil
	}
	if prop == "" {
		prop = metav1.DeletePropagationBackground
	}
	do := metav1.DeleteOptions{PropagationPolicy: &prop}
	if dryRun {
		do.DryRun = []string{metav1.DryRunAll}
	}
	if err := c.resource(r).Delete(ctx, r.Name(), do); err != nil && !apierrors.IsNotFound(err) {
		return false, err
	}
	return false, nil
}

// deleteDropped deletes what original has and target no longer does, the
// last step of an update by either apply method. As in Helm, a failed
// delete is logged and skipped: the release is what the target says.
func (c *Client) deleteDropped(ctx context.Context, original, target ResourceList, dryRun bool, res *Result) {
	for _, r := range original.Difference(target) {
		kept, err := c.delete(ctx, r, dryRun, metav1.DeletePropagationBackground)
		if err != nil {
			c.Logger.Debug("delete failed", "kind", r.Kind(), "name", r.Name(), "err", err)
			continue
		}
		if !kept {
			res.Deleted = append(res.Deleted, r)
		}
	}
}
