package release

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Errors the drivers and the store return.
var (
	// ErrNotFound: no release (or revision) by that name.
	ErrNotFound = errors.New("release: not found")
	// ErrExists: a revision with that key already exists.
	ErrExists = errors.New("release: already exists")
)

// Reader reads stored revisions.
type Reader interface {
	Get(ctx context.Context, key string) (*Release, error)
	// Query returns the revisions whose driver labels match all of
	// labels; ErrNotFound when there is none.
	Query(ctx context.Context, labels map[string]string) ([]*Release, error)
	// List returns every revision (of every release) the driver holds.
	List(ctx context.Context) ([]*Release, error)
}

// Writer writes stored revisions.
type Writer interface {
	Create(ctx context.Context, key string, r *Release) error
	Update(ctx context.Context, key string, r *Release) error
	Delete(ctx context.Context, key string) (*Release, error)
}

// Driver is where the revisions live (release/driver: secret, configmap,
// memory).
type Driver interface {
	Reader
	Writer
	Name() string
}

// Store keeps the history of releases in a driver.
type Store struct {
	Driver Driver
	// MaxHistory bounds the revisions kept per release; 0 keeps all.
	MaxHistory int
}

// Get returns one revision.
func (s *Store) Get(ctx context.Context, name string, version int) (*Release, error) {
	return s.Driver.Get(ctx, Key(name, version))
}

// Create stores a new revision, first dropping the oldest revisions beyond
// MaxHistory (never the deployed one), as Helm does.
func (s *Store) Create(ctx context.Context, r *Release) error {
	if s.MaxHistory > 0 {
		if err := s.removeLeastRecent(ctx, r.Name, s.MaxHistory-1); err != nil {
			return err
		}
	}
	return s.Driver.Create(ctx, Key(r.Name, r.Version), r)
}

// Update rewrites a revision.
func (s *Store) Update(ctx context.Context, r *Release) error {
	return s.Driver.Update(ctx, Key(r.Name, r.Version), r)
}

// Delete removes a revision.
func (s *Store) Delete(ctx context.Context, name string, version int) (*Release, error) {
	return s.Driver.Delete(ctx, Key(name, version))
}

// History returns every revision of name, oldest first; ErrNotFound when
// there is none.
func (s *Store) History(ctx context.Context, name string) ([]*Release, error) {
	h, err := s.Driver.Query(ctx, map[string]string{"name": name, "owner": "helm"})
	if err != nil {
		return nil, err
	}
	SortByRevision(h)
	return h, nil
}

// Last returns the newest revision of name.
func (s *Store) Last(ctx context.Context, name string) (*Release, error) {
	h, err := s.History(ctx, name)
	if err != nil {
		return nil, err
	}
	return h[len(h)-1], nil
}

// Deployed returns the newest deployed revision of name.
func (s *Store) Deployed(ctx context.Context, name string) (*Release, error) {
	h, err := s.History(ctx, name)
	if err != nil {
		return nil, err
	}
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Info != nil && h[i].Info.Status == StatusDeployed {
			return h[i], nil
		}
	}
	return nil, fmt.Errorf("%q has no deployed releases: %w", name, ErrNotFound)
}

// List returns every revision the driver holds (all releases).
func (s *Store) List(ctx context.Context) ([]*Release, error) {
	return s.Driver.List(ctx)
}

func (s *Store) removeLeastRecent(ctx context.Context, name string, keep int) error {
	h, err := s.History(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(h) <= keep {
		return nil
	}
	deployed := 0
	for _, r := range h {
		if r.Info != nil && r.Info.Status == StatusDeployed {
			deployed = r.Version
		}
	}
	var errs []error
	left := len(h)
	for _, r := range h {
		if left <= keep {
			break
		}
		if r.Version == deployed {
			continue
		}
		if _, err := s.Delete(ctx, r.Name, r.Version); err != nil {
			errs = append(errs, err)
			continue
		}
		left--
	}
	return errors.Join(errs...)
}

// SortByRevision sorts revisions oldest first.
func SortByRevision(h []*Release) {
	sort.SliceStable(h, func(i, j int) bool { return h[i].Version < h[j].Version })
}
