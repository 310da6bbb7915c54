package driver

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/chartd/chartd/release"
)

// Memory keeps revisions in the process (HELM_DRIVER=memory), encoded as
// the other drivers do so that what it returns is a copy.
type Memory struct {
	// Namespace scopes reads; "" reads all namespaces.
	Namespace string
	mu        sync.Mutex
	objs      map[string]memObj // by namespace + "/" + key
}

type memObj struct {
	data   string
	labels map[string]string
	ns     string
}

// Name is the HELM_DRIVER name.
func (d *Memory) Name() string { return "Memory" }

// Get reads one revision.
func (d *Memory) Get(_ context.Context, key string) (*release.Release, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, o := range d.objs {
		if (d.Namespace == "" || o.ns == d.Namespace) && k == o.ns+"/"+key {
			return fromData(o.data, o.labels, o.ns)
		}
	}
	return nil, release.ErrNotFound
}

// Query lists the revisions whose labels match.
func (d *Memory) Query(_ context.Context, match map[string]string) ([]*release.Release, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*release.Release
next:
	for _, o := range d.objs {
		if d.Namespace != "" && o.ns != d.Namespace {
			continue
		}
		for k, v := range match {
			if o.labels[k] != v {
				continue next
			}
		}
		r, err := fromData(o.data, o.labels, o.ns)
		if err != nil {
			continue
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, release.ErrNotFound
	}
	return out, nil
}

// List reads every revision in the namespace (all namespaces for "").
func (d *Memory) List(ctx context.Context) ([]*release.Release, error) {
	all, err := d.Query(ctx, map[string]string{"owner": Owner})
	if errors.Is(err, release.ErrNotFound) {
		return nil, nil
	}
	return all, err
}

// Create stores a new revision.
func (d *Memory) Create(_ context.Context, key string, r *release.Release) error {
	return d.put(key, r, "createdAt", true)
}

// Update rewrites a revision.
func (d *Memory) Update(_ context.Context, key string, r *release.Release) error {
	return d.put(key, r, "modifiedAt", false)
}

func (d *Memory) put(key string, r *release.Release, stamp string, create bool) error {
	data, err := Encode(r)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.objs == nil {
		d.objs = map[string]memObj{}
	}
	k := r.Namespace + "/" + key
	_, exists := d.objs[k]
	switch {
	case create && exists:
		return release.ErrExists
	case !create && !exists:
		return release.ErrNotFound
	}
	d.objs[k] = memObj{data: data, labels: labelsFor(r, stamp, time.Now()), ns: r.Namespace}
	return nil
}

// Delete removes a revision and returns it.
func (d *Memory) Delete(ctx context.Context, key string) (*release.Release, error) {
	r, err := d.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.objs, r.Namespace+"/"+key)
	return r, nil
}
