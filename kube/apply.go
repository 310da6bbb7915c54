package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/csaupgrade"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// ApplyOptions tune server-side apply (Helm 4's --server-side).
type ApplyOptions struct {
	// ForceConflicts takes fields other managers own (--force-conflicts).
	ForceConflicts bool
	DryRun         bool
	// MigrateClientSide first hands the fields that client-side updates by
	// FieldManager own to its apply manager (client-go's csaupgrade), as a
	// release applied client-side needs when it switches to server-side:
	// otherwise the old owner keeps fields the new manifest drops.
	MigrateClientSide bool
}

// ErrForceConflictsCSA: --force-conflicts without server-side apply, in
// Helm 4's words.
var ErrForceConflictsCSA = errors.New("forceConflicts enabled when serverSideApply disabled")

// Problem is one reason an object would not apply.
type Problem struct {
	Resource *Resource
	// Field is the conflicting field's path (".spec.replicas"), empty for
	// other problems.
	Field string
	// Message is the apiserver's words: for a conflict `conflict with
	// "kubectl-edit" using apps/v1`, naming the manager that owns Field.
	Message string
}

func (p Problem) String() string {
	where := nsName(p.Resource)
	if p.Field != "" {
		return fmt.Sprintf("%s: %s: %s", where, p.Field, p.Message)
	}
	return fmt.Sprintf("%s: %s", where, p.Message)
}

// nsName names an object as Kind namespace/name (Kind "name" when
// cluster-scoped).
func nsName(r *Resource) string {
	if r.Namespace() == "" {
		return fmt.Sprintf("%s %q", r.Kind(), r.Name())
	}
	return fmt.Sprintf("%s %s/%s", r.Kind(), r.Namespace(), r.Name())
}

// PreflightError is every problem found before anything was applied.
type PreflightError struct {
	Problems []Problem
}

func (e *PreflightError) Error() string {
	var b strings.Builder
	conflicts := 0
	for _, p := range e.Problems {
		if p.Field != "" {
			conflicts++
		}
	}
	fmt.Fprintf(&b, "server-side apply would fail, so nothing was applied (%d problem(s)):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  * " + p.String())
	}
	if conflicts > 0 {
		b.WriteString("\nthe managers named own those fields; --force-conflicts takes them over")
	}
	return b.String()
}

// Preflight checks targets before anything is applied and returns every
// problem together as a *PreflightError: duplicate keys in keyed lists (two
// env entries of one name, which server-side apply refuses; checked
// against the built-in types' schema without a request), then, unless
// ForceConflicts, a server-side dry run of each apply to an existing
// object, whose conflicts name the managers that own the fields. Helm 4
// instead applies object by object and fails with the others applied.
func (c *Client) Preflight(ctx context.Context, target ResourceList, opt ApplyOptions) error {
	problems := c.DuplicateKeys(target)
	if opt.ForceConflicts {
		return preflightError(problems)
	}
	// Only objects that exist can conflict, and only where another manager
	// owns a field the manifest sets, so only those are dry-run: a new
	// object, or one nobody else touched, costs no extra request.
	lives, err := c.Fetch(ctx, target)
	if err != nil {
		return fmt.Errorf("could not get information about the resource: %w", err)
	}
	var existing ResourceList
	dup := map[*Resource]bool{}
	for _, p := range problems {
		dup[p.Resource] = true
	}
	for i, r := range target {
		// An object with duplicate keys fails its dry run the same way.
		if lives[i] != nil && !dup[r] && c.mayConflict(r, lives[i], opt.MigrateClientSide) {
			existing = append(existing, r)
		}
	}
	return preflightError(append(problems, c.dryRunApply(ctx, existing, opt.MigrateClientSide)...))
}

func preflightError(problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	return &PreflightError{Problems: problems}
}

// Apply moves the cluster from original to target by server-side apply,
// with FieldManager as the manager: every target is applied (and so
// created when missing), and objects of original absent from target are
// deleted, except those annotated helm.sh/resource-policy: keep. Callers
// run Preflight first, before they record anything.
func (c *Client) Apply(ctx context.Context, original, target ResourceList, opt ApplyOptions) (*Result, error) {
	res := &Result{}
	lives, err := c.Fetch(ctx, target)
	if err != nil {
		return res, fmt.Errorf("could not get information about the resource: %w", err)
	}
	if opt.MigrateClientSide && !opt.DryRun {
		if err := c.migrate(ctx, target, lives); err != nil {
			return res, err
		}
	}
	var mu sync.Mutex
	live := map[*Resource]bool{}
	for i, r := range target {
		live[r] = lives[i] != nil
	}
	err = perKind(target, func(r *Resource) error {
		if _, err := c.applyOne(ctx, r, opt.ForceConflicts, opt.DryRun); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if live[r] {
			res.Updated = append(res.Updated, r)
		} else {
			res.Created = append(res.Created, r)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	c.deleteDropped(ctx, original, target, opt.DryRun, res)
	return res, nil
}

// applyOne sends r as an apply patch, with strict field validation as
// Helm 4 does; errors are worded as Helm 4's.
func (c *Client) applyOne(ctx context.Context, r *Resource, force, dryRun bool) (*unstructured.Unstructured, error) {
	data, err := runtime.Encode(unstructured.UnstructuredJSONScheme, r.Object)
	if err != nil {
		return nil, fmt.Errorf("failed to encode object %s: %w", ssaName(r), err)
	}
	po := metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: "Strict"}
	if dryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	out, err := c.resource(r).Patch(ctx, r.Name(), types.ApplyPatchType, data, po)
	switch {
	case err == nil:
		return out, nil
	case apierrors.IsConflict(err):
		return nil, fmt.Errorf("conflict occurred while applying object %s: %w", ssaName(r), err)
	default:
		return nil, fmt.Errorf("server-side apply failed for object %s: %w", ssaName(r), err)
	}
}

// ssaName names an object as Helm 4's apply errors do:
// namespace/name apps/v1, Kind=Deployment.
func ssaName(r *Resource) string {
	return fmt.Sprintf("%s/%s %s", r.Namespace(), r.Name(), r.Mapping.GroupVersionKind.String())
}

// dryRunApply applies every target with dryRun=All and returns what the
// apiserver refused: conflicts (one problem per field, with its owner) and
// invalid objects. Other failures (a namespace the chart itself creates,
// say) are left to the real apply, which reports them in order.
func (c *Client) dryRunApply(ctx context.Context, target ResourceList, migrating bool) []Problem {
	found := make([][]Problem, len(target))
	idx := map[*Resource]int{}
	for i, r := range target {
		idx[r] = i
	}
	_ = parallel(target, func(r *Resource) error {
		_, err := c.applyOne(ctx, r, false, true)
		if err == nil {
			return nil
		}
		var status apierrors.APIStatus
		if !errors.As(err, &status) {
			return nil
		}
		switch {
		case apierrors.IsConflict(err):
			found[idx[r]] = conflicts(r, status.Status(), migrating)
		case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
			found[idx[r]] = []Problem{{Resource: r, Message: status.Status().Message}}
		}
		return nil
	})
	var out []Problem
	for _, p := range found {
		out = append(out, p...)
	}
	return out
}

// conflicts reads a Conflict status's causes. When the apply will migrate
// the client-side fields first, the conflicts with the client's own
// client-side manager are the ones the migration removes.
func conflicts(r *Resource, st metav1.Status, skipOwn bool) []Problem {
	var out []Problem
	own := fmt.Sprintf("conflict with %q using ", FieldManager)
	if st.Details != nil {
		for _, cause := range st.Details.Causes {
			if cause.Type != metav1.CauseTypeFieldManagerConflict {
				continue
			}
			if skipOwn && strings.HasPrefix(cause.Message, own) {
				continue
			}
			out = append(out, Problem{Resource: r, Field: cause.Field, Message: cause.Message})
		}
	}
	if len(out) == 0 && !skipOwn {
		out = append(out, Problem{Resource: r, Message: st.Message})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// migrate hands the fields FieldManager owns through client-side updates
// to its apply manager, one JSON patch of managedFields per object that
// has any (csaupgrade's patch carries the resourceVersion, so a write in
// between is a conflict, met by reading the object again).
func (c *Client) migrate(ctx context.Context, target ResourceList, lives []*unstructured.Unstructured) error {
	managers := sets.New(FieldManager)
	for i, r := range target {
		live := lives[i]
		if live == nil {
			continue
		}
		ri := c.resource(r)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			patch, err := csaupgrade.UpgradeManagedFieldsPatch(live, managers, FieldManager)
			if err != nil || patch == nil {
				return err
			}
			_, err = ri.Patch(ctx, r.Name(), types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
			if apierrors.IsConflict(err) {
				if cur, gerr := ri.Get(ctx, r.Name(), metav1.GetOptions{}); gerr == nil {
					live = cur
				}
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("failed to upgrade managed fields for object %s: %w", ssaName(r), err)
		}
		c.Logger.Debug("migrated client-side field management", "kind", r.Kind(), "name", r.Name())
	}
	return nil
}

// DuplicateKeys reports the keyed lists of built-in objects that hold one
// key twice (env names, container ports), which server-side apply refuses
// with "duplicate entries for key". It reads the same structured-merge-diff
// schema the apiserver does (client-go's, for the built-in types), so it
// asks nothing of the cluster; kinds without a Go type are left to the
// server's dry run.
func (c *Client) DuplicateKeys(l ResourceList) []Problem {
	tc := c.typeConverter()
	var out []Problem
	for _, r := range l {
		if !scheme.Scheme.Recognizes(r.Object.GroupVersionKind()) {
			continue
		}
		if _, err := tc.ObjectToTyped(r.Object); err != nil {
			for _, msg := range splitErrors(err) {
				if strings.Contains(msg, "duplicate entries") {
					out = append(out, Problem{Resource: r, Message: msg})
				}
			}
		}
	}
	return out
}

// mayConflict tells whether applying r could conflict with live: whether
// a manager other than this client's apply owns a field r sets, by the
// field sets of live's managedFields and of r typed with the built-in
// schema (structured-merge-diff's, as the apiserver computes them). Where
// r has no built-in type, any other manager may. Whether the values
// differ, which makes an overlap a conflict, is the dry run's to say.
func (c *Client) mayConflict(r *Resource, live *unstructured.Unstructured, migrating bool) bool {
	var others []metav1.ManagedFieldsEntry
	for _, m := range live.GetManagedFields() {
		own := m.Manager == FieldManager && (m.Operation == metav1.ManagedFieldsOperationApply || migrating)
		if !own {
			others = append(others, m)
		}
	}
	if len(others) == 0 {
		return false
	}
	if !scheme.Scheme.Recognizes(r.Object.GroupVersionKind()) {
		return true
	}
	tv, err := c.typeConverter().ObjectToTyped(r.Object)
	if err != nil {
		return true
	}
	mine, err := tv.ToFieldSet()
	if err != nil {
		return true
	}
	for _, m := range others {
		if m.FieldsV1 == nil {
			continue
		}
		theirs := &fieldpath.Set{}
		if err := theirs.FromJSON(bytes.NewReader(m.FieldsV1.Raw)); err != nil {
			return true
		}
		if !mine.Intersection(theirs).Empty() {
			return true
		}
	}
	return false
}

// splitErrors reads structured-merge-diff's "errors:\n  a\n  b" as lines.
func splitErrors(err error) []string {
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "errors:" {
			out = append(out, line)
		}
	}
	return out
}

// typeConverter parses client-go's schema of the built-in types once per
// client: it takes a while, and only server-side apply needs it.
func (c *Client) typeConverter() managedfields.TypeConverter {
	c.tcOnce.Do(func() { c.tc = applyconfigurations.NewTypeConverter(scheme.Scheme) })
	return c.tc
}
