package action

import (
	"context"
	"fmt"
	"regexp"
	"sort"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/chartd/chartd/release"
)

// States selects releases by status in `helm list`.
type States uint

// The status filters of `helm list`.
const (
	ListDeployed States = 1 << iota
	ListUninstalled
	ListUninstalling
	ListPendingInstall
	ListPendingUpgrade
	ListPendingRollback
	ListSuperseded
	ListFailed
	ListUnknown
	ListAll = ListDeployed | ListUninstalled | ListUninstalling | ListPendingInstall | ListPendingUpgrade |
		ListPendingRollback | ListSuperseded | ListFailed | ListUnknown
	// ListDefault is Helm 3's default: deployed and failed.
	ListDefault = ListDeployed | ListFailed
)

func stateOf(s release.Status) States {
	switch s {
	case release.StatusDeployed:
		return ListDeployed
	case release.StatusUninstalled:
		return ListUninstalled
	case release.StatusUninstalling:
		return ListUninstalling
	case release.StatusPendingInstall:
		return ListPendingInstall
	case release.StatusPendingUpgrade:
		return ListPendingUpgrade
	case release.StatusPendingRollback:
		return ListPendingRollback
	case release.StatusSuperseded:
		return ListSuperseded
	case release.StatusFailed:
		return ListFailed
	}
	return ListUnknown
}

// List is `helm list`.
type List struct {
	Cfg *Configuration
	// AllNamespaces must be applied to Cfg (Configuration.AllNamespaces)
	// before Run; it is recorded here for the caller's output.
	AllNamespaces bool
	States        States
	// Filter is a regular expression on release names.
	Filter string
	// Selector is a label selector on the driver objects' labels.
	Selector    string
	ByDate      bool
	SortReverse bool
	Limit       int
	Offset      int
}

// Run returns the newest revision of each release that passes the filters.
func (l *List) Run(ctx context.Context) ([]*release.Release, error) {
	var filter *regexp.Regexp
	if l.Filter != "" {
		var err error
		if filter, err = regexp.Compile(l.Filter); err != nil {
			return nil, err
		}
	}
	sel, err := labels.Parse(l.Selector)
	if err != nil {
		return nil, fmt.Errorf("failed to parse selector: %w", err)
	}
	all, err := l.Cfg.Releases.List(ctx)
	if err != nil {
		return nil, err
	}
	states := l.States
	if states == 0 {
		states = ListDefault
	}
	var rels []*release.Release
	for _, r := range all {
		if filter == nil || filter.MatchString(r.Name) {
			rels = append(rels, r)
		}
	}
	// Superseded revisions are never the newest, so asking only for
	// them skips the newest-only step, as in Helm.
	if states != ListSuperseded {
		rels = latest(rels)
	}
	var out []*release.Release
	for _, r := range rels {
		if states&stateOf(r.Info.Status) == 0 || !sel.Matches(labels.Set(r.Labels)) {
			continue
		}
		out = append(out, r)
	}
	l.sort(out)
	if l.Offset > 0 {
		if l.Offset >= len(out) {
			return nil, nil
		}
		out = out[l.Offset:]
	}
	if l.Limit > 0 && len(out) > l.Limit {
		out = out[:l.Limit]
	}
	return out, nil
}

func (l *List) sort(rels []*release.Release) {
	byName := func(i, j int) bool {
		if rels[i].Name != rels[j].Name {
			return rels[i].Name < rels[j].Name
		}
		return rels[i].Namespace < rels[j].Namespace
	}
	// Helm compares Unix seconds and leaves ties in random order; ties
	// here keep the finer time, then the name.
	byDate := func(i, j int) bool {
		a, b := rels[i].Info.LastDeployed.Time, rels[j].Info.LastDeployed.Time
		if !a.Equal(b) {
			return a.Before(b)
		}
		return byName(i, j)
	}
	less := byName
	if l.ByDate {
		less = byDate
	}
	if l.SortReverse {
		sort.SliceStable(rels, func(i, j int) bool { return less(j, i) })
		return
	}
	sort.SliceStable(rels, less)
}

func latest(rels []*release.Release) []*release.Release {
	m := map[string]*release.Release{}
	for _, r := range rels {
		k := r.Namespace + "/" + r.Name
		if cur, ok := m[k]; ok && cur.Version > r.Version {
			continue
		}
		m[k] = r
	}
	out := make([]*release.Release, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	return out
}
