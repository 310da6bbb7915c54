package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/aggregator"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/collector"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/engine"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/event"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/statusreaders"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/cli-utils/pkg/kstatus/watcher"
	"sigs.k8s.io/cli-utils/pkg/object"
)

// The watcher strategy is Helm 4's: cli-utils' status watcher keeps an
// informer (one LIST and one WATCH) per kind and namespace, and kstatus
// computes each object's status from its own fields and conditions, so
// custom resources that follow the conventions are waited for too.
//
// Every object is judged by kstatus's Compute alone. cli-utils' default
// readers for Deployments, ReplicaSets and StatefulSets compute the same
// status but also LIST the ReplicaSets and Pods of each object on every
// event, for detail nobody reads here; Helm 4 pays those requests.

// statusReader judges every kind by kstatus; with jobs, a Job is current
// only once complete (kstatus alone counts a started Job), as Helm 4's
// --wait-for-jobs does.
func (c *Client) statusReader(jobs bool) engine.StatusReader {
	var readers []engine.StatusReader
	if jobs {
		readers = append(readers, &kindReader{
			gk:           schema.GroupKind{Group: "batch", Kind: "Job"},
			StatusReader: statusreaders.NewGenericStatusReader(c.Mapper, jobComplete),
		})
	}
	readers = append(readers, statusreaders.NewGenericStatusReader(c.Mapper, status.Compute))
	return &statusreaders.DelegatingStatusReader{StatusReaders: readers}
}

// kindReader narrows a reader to one kind.
type kindReader struct {
	gk schema.GroupKind
	engine.StatusReader
}

func (k *kindReader) Supports(gk schema.GroupKind) bool { return gk == k.gk }

func jobComplete(u *unstructured.Unstructured) (*status.Result, error) {
	obj, err := status.GetObjectWithConditions(u.Object)
	if err != nil {
		return nil, err
	}
	for _, c := range obj.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case "Complete":
			return &status.Result{Status: status.CurrentStatus, Message: "Job completed"}, nil
		case "Failed":
			return &status.Result{Status: status.FailedStatus, Message: "Job failed"}, nil
		}
	}
	return &status.Result{Status: status.InProgressStatus, Message: "Job in progress"}, nil
}

func ids(l ResourceList, skip func(*Resource) bool) object.ObjMetadataSet {
	out := make(object.ObjMetadataSet, 0, len(l))
	for _, r := range l {
		if skip != nil && skip(r) {
			continue
		}
		out = append(out, object.ObjMetadata{
			GroupKind: r.Mapping.GroupVersionKind.GroupKind(), Namespace: r.Namespace(), Name: r.Name(),
		})
	}
	return out
}

func pausedDeployment(r *Resource) bool {
	if r.Mapping.GroupVersionKind.GroupKind() != (schema.GroupKind{Group: "apps", Kind: "Deployment"}) {
		return false
	}
	paused, _, _ := unstructured.NestedBool(r.Object.Object, "spec", "paused")
	return paused
}

func (c *Client) waitWatcher(ctx context.Context, l ResourceList, opt WaitOptions) error {
	return c.watchUntil(ctx, ids(l, pausedDeployment), c.statusReader(opt.Jobs), status.CurrentStatus)
}

func (c *Client) waitDeleteWatcher(ctx context.Context, l ResourceList) error {
	return c.watchUntil(ctx, ids(l, nil), c.statusReader(false), status.NotFoundStatus)
}

// watchUntil watches ids until every one has the desired status (a
// Failed one stops being waited for: it needs a human), ctx ends, or the
// watcher fails.
func (c *Client) watchUntil(ctx context.Context, ids object.ObjMetadataSet, sr engine.StatusReader, desired status.Status) error {
	if len(ids) == 0 {
		return nil
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sw := watcher.NewDefaultStatusWatcher(c.Dynamic, c.Mapper)
	sw.StatusReader = sr
	events := sw.Watch(wctx, ids, watcher.Options{RESTScopeStrategy: watcher.RESTScopeNamespace})
	col := collector.NewResourceStatusCollector(ids)
	done := col.ListenWithObserver(events, collector.ObserverFunc(func(col *collector.ResourceStatusCollector, _ event.Event) {
		var rss []*event.ResourceStatus
		for _, rs := range col.ResourceStatuses {
			switch {
			case rs == nil:
				continue
			case desired == status.NotFoundStatus && rs.Status == status.UnknownStatus:
				// Gone before the watch began.
				continue
			case desired == status.CurrentStatus && rs.Status == status.FailedStatus:
				continue
			}
			rss = append(rss, rs)
		}
		if aggregator.AggregateStatus(rss, desired) == desired {
			cancel()
		}
	}))
	var werr error
	for res := range done {
		// A fatal watcher error ends the wait; the channel is drained so
		// the collector's goroutine can finish.
		if werr == nil {
			werr = res.Err
			cancel()
		}
	}
	if werr != nil {
		return werr
	}
	var pending []string
	for _, id := range ids {
		rs := col.ResourceStatuses[id]
		st, msg := status.UnknownStatus, ""
		if rs != nil {
			st, msg = rs.Status, rs.Message
		}
		if st == desired || (desired == status.NotFoundStatus && st == status.UnknownStatus) {
			continue
		}
		word := "not ready"
		if desired == status.NotFoundStatus {
			word = "still exists"
		}
		pending = append(pending, fmt.Sprintf("%s %s: %s. status: %s, message: %s", id.GroupKind.Kind, qualifiedID(id), word, st, msg))
	}
	if len(pending) == 0 {
		return nil
	}
	sort.Strings(pending)
	err := ctx.Err()
	if err == nil {
		// Everything left has Failed: waiting longer does not help.
		err = errors.New("resources failed")
	}
	return &WaitError{Err: err, Pending: pending}
}

func qualifiedID(id object.ObjMetadata) string {
	if id.Namespace == "" {
		return id.Name
	}
	return id.Namespace + "/" + id.Name
}
