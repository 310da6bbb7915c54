package action

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/values"
)

// Change types, helm-diff's words.
const (
	ChangeAdd    = "ADD"
	ChangeRemove = "REMOVE"
	ChangeModify = "MODIFY"
)

// Change is one object that differs.
type Change struct {
	// Key is helm-diff's "namespace, name, Kind (group)".
	Key             string
	API, Kind       string
	Namespace, Name string
	Type            string
	// Before and After are the object as YAML, "" where it is absent.
	Before, After string
}

// DiffOptions are what every diff shares.
type DiffOptions struct {
	// ShowSecrets prints Secret values instead of helm-diff's redaction.
	ShowSecrets bool
	// NoHooks leaves hooks out; IncludeTests adds test hooks (helm-diff's
	// --no-hooks and --include-tests). Hooks are compared as stored and
	// rendered, not live: they are not the release's standing objects.
	NoHooks, IncludeTests bool
}

// DiffUpgrade is `helm diff upgrade`: what `helm upgrade` with the same
// arguments would change in the cluster.
type DiffUpgrade struct {
	Upgrade *Upgrade
	DiffOptions
	// AllowUnreleased diffs a release that does not exist yet as an
	// install (helm-diff's --allow-unreleased).
	AllowUnreleased bool
}

// Run renders the upgrade as a server-side dry run would and compares the
// live objects with what the upgrade would make of them.
func (d *DiffUpgrade) Run(ctx context.Context, name string, ch *chart.Chart, vals values.Values) ([]Change, error) {
	u := *d.Upgrade
	u.DryRun = DryRunServer
	if _, err := u.Cfg.history(ctx, name); errors.Is(err, ErrReleaseNotFound) && d.AllowUnreleased {
		in := &Install{Cfg: u.Cfg, ReleaseName: name, DryRun: DryRunServer, TakeOwnership: u.TakeOwnership, Render: u.Render,
			Apply: ApplyOptions{ServerSide: u.Apply.ServerSide, ForceConflicts: u.Apply.ForceConflicts}}
		if in.Apply.ServerSide == ServerSideAuto {
			in.Apply.ServerSide = ""
		}
		rel, err := in.Run(ctx, ch, vals)
		if err != nil {
			return nil, err
		}
		return d.plan(ctx, u.Cfg, &release.Release{}, rel, false, in.Apply.ForceConflicts)
	}
	rel, err := u.Run(ctx, name, ch, vals)
	if err != nil {
		return nil, err
	}
	h, err := u.Cfg.history(ctx, name)
	if err != nil {
		return nil, err
	}
	current := deployed(h)
	if current == nil {
		current = h[len(h)-1]
	}
	return d.plan(ctx, u.Cfg, current, rel, u.Force, u.Apply.ForceConflicts)
}

// DiffRollback is `helm diff rollback RELEASE [REVISION]`.
type DiffRollback struct {
	Rollback *Rollback
	DiffOptions
}

// Run compares the live objects with what the rollback would make of them.
func (d *DiffRollback) Run(ctx context.Context, name string) ([]Change, error) {
	r := *d.Rollback
	r.DryRun = true
	target, err := r.Run(ctx, name)
	if err != nil {
		return nil, err
	}
	h, err := r.Cfg.history(ctx, name)
	if err != nil {
		return nil, err
	}
	return d.plan(ctx, r.Cfg, h[len(h)-1], target, r.Force, r.Apply.ForceConflicts)
}

func (d *DiffOptions) plan(ctx context.Context, cfg *Configuration, from, target *release.Release, force, forceConflicts bool) ([]Change, error) {
	current, err := cfg.Kube.Build(ctx, from.Manifest)
	if err != nil {
		return nil, fmt.Errorf("unable to build kubernetes objects from current release manifest: %w", err)
	}
	next, err := cfg.Kube.Build(ctx, target.Manifest)
	if err != nil {
		return nil, fmt.Errorf("unable to build kubernetes objects from new release manifest: %w", err)
	}
	setOwnership(next, target.Name, target.Namespace)
	planned, err := cfg.Kube.Plan(ctx, current, next, kube.PlanOptions{
		ServerSide: target.ApplyMethod == release.ApplyServerSide, ForceConflicts: forceConflicts, Force: force,
	})
	if err != nil {
		return nil, err
	}
	pairs := plannedPairs(planned)
	hooks, err := d.hookPairs(ctx, cfg, from, target)
	if err != nil {
		return nil, err
	}
	return d.changes(append(pairs, hooks...))
}

// hookPairs pairs the hooks of two revisions by object, as helm-diff
// does: test hooks only with IncludeTests, none with NoHooks.
func (d *DiffOptions) hookPairs(ctx context.Context, cfg *Configuration, a, b *release.Release) ([]pair, error) {
	if d.NoHooks {
		return nil, nil
	}
	build := func(r *release.Release) (kube.ResourceList, error) {
		var out kube.ResourceList
		for _, h := range r.Hooks {
			if !d.IncludeTests && slices.Contains(h.Events, "test") {
				continue
			}
			l, err := cfg.Kube.Build(ctx, h.Manifest)
			if err != nil {
				return nil, fmt.Errorf("unable to build kubernetes objects from hook %s: %w", h.Path, err)
			}
			out = append(out, l...)
		}
		return out, nil
	}
	la, err := build(a)
	if err != nil {
		return nil, err
	}
	lb, err := build(b)
	if err != nil {
		return nil, err
	}
	return manifestPairs(la, lb), nil
}

// manifestPairs pairs the objects of two manifests by identity.
func manifestPairs(la, lb kube.ResourceList) []pair {
	var pairs []pair
	for _, r := range lb {
		p := pair{r: r, after: r.Object}
		if o := la.Get(r); o != nil {
			p.before = o.Object
		}
		pairs = append(pairs, p)
	}
	for _, r := range la.Difference(lb) {
		pairs = append(pairs, pair{r: r, before: r.Object})
	}
	return pairs
}

// DiffRevision is `helm diff revision RELEASE A [B]`: the manifests of two
// stored revisions (B defaults to the newest), as helm-diff compares them.
type DiffRevision struct {
	Cfg *Configuration
	DiffOptions
}

// Run compares revision a with b (0: the newest).
func (d *DiffRevision) Run(ctx context.Context, name string, a, b int) ([]Change, error) {
	h, err := d.Cfg.history(ctx, name)
	if err != nil {
		return nil, err
	}
	if b == 0 {
		b = h[len(h)-1].Version
	}
	get := func(v int) (*release.Release, error) {
		for _, r := range h {
			if r.Version == v {
				return r, nil
			}
		}
		return nil, fmt.Errorf("release: %q revision %d: %w", name, v, ErrReleaseNotFound)
	}
	ra, err := get(a)
	if err != nil {
		return nil, err
	}
	rb, err := get(b)
	if err != nil {
		return nil, err
	}
	la, err := d.Cfg.Kube.Build(ctx, ra.Manifest)
	if err != nil {
		return nil, err
	}
	lb, err := d.Cfg.Kube.Build(ctx, rb.Manifest)
	if err != nil {
		return nil, err
	}
	hooks, err := d.hookPairs(ctx, d.Cfg, ra, rb)
	if err != nil {
		return nil, err
	}
	return d.changes(append(manifestPairs(la, lb), hooks...))
}

type pair struct {
	r             *kube.Resource
	before, after *unstructured.Unstructured
}

// plannedPairs are a plan's objects, live and planned, with what the server
// manages tidied away, as both the diff and the drift compare them.
func plannedPairs(planned []kube.Planned) []pair {
	pairs := make([]pair, 0, len(planned))
	for _, p := range planned {
		pairs = append(pairs, pair{r: p.Resource, before: kube.Tidy(p.Live), after: kube.Tidy(p.After)})
	}
	return pairs
}

// changes keeps the pairs that differ, in helm-diff's order: changed
// objects by key, then removed ones, then added ones.
func (d *DiffOptions) changes(pairs []pair) ([]Change, error) {
	var out []Change
	for _, p := range pairs {
		if !d.ShowSecrets && p.r.Kind() == "Secret" {
			p.before, p.after = redact(p.before, p.after)
		}
		before, err := toYAML(p.before)
		if err != nil {
			return nil, err
		}
		after, err := toYAML(p.after)
		if err != nil {
			return nil, err
		}
		if before == after {
			continue
		}
		c := Change{
			Key: kube.Key(p.r), API: kube.APIGroup(p.r), Kind: p.r.Kind(), Namespace: p.r.Namespace(), Name: p.r.Name(),
			Type: ChangeModify, Before: before, After: after,
		}
		switch {
		case p.before == nil:
			c.Type = ChangeAdd
		case p.after == nil:
			c.Type = ChangeRemove
		}
		out = append(out, c)
	}
	rank := map[string]int{ChangeModify: 0, ChangeRemove: 1, ChangeAdd: 2}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].Type] != rank[out[j].Type] {
			return rank[out[i].Type] < rank[out[j].Type]
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

func toYAML(u *unstructured.Unstructured) (string, error) {
	if u == nil {
		return "", nil
	}
	b, err := yaml.Marshal(u.Object)
	return string(b), err
}

// redact hides Secret values as helm-diff does: a value the same on both
// sides reads "REDACTED # (n bytes)", a changed one "-------- # (n bytes)"
// before and "++++++++ # (n bytes)" after; stringData counts as data, as
// the apiserver merges it.
func redact(before, after *unstructured.Unstructured) (*unstructured.Unstructured, *unstructured.Unstructured) {
	data := func(u *unstructured.Unstructured) map[string]string {
		if u == nil {
			return nil
		}
		out := map[string]string{}
		d, _, _ := unstructured.NestedStringMap(u.Object, "data")
		for k, v := range d {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				b = []byte(v)
			}
			out[k] = string(b)
		}
		sd, _, _ := unstructured.NestedStringMap(u.Object, "stringData")
		for k, v := range sd {
			out[k] = v
		}
		return out
	}
	db, da := data(before), data(after)
	hide := func(u *unstructured.Unstructured, mine, other map[string]string, mark string) *unstructured.Unstructured {
		if u == nil {
			return nil
		}
		u = u.DeepCopy()
		unstructured.RemoveNestedField(u.Object, "stringData")
		if len(mine) == 0 {
			return u
		}
		red := map[string]any{}
		for k, v := range mine {
			if o, ok := other[k]; ok && o == v {
				red[k] = fmt.Sprintf("REDACTED # (%d bytes)", len(v))
			} else {
				red[k] = fmt.Sprintf("%s # (%d bytes)", mark, len(v))
			}
		}
		u.Object["data"] = red
		return u
	}
	return hide(before, db, da, "--------"), hide(after, da, db, "++++++++")
}
