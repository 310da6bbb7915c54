// Package intake is where a chart becomes a version, whichever way it
// arrives: an upload through the ChartMuseum API, `chartd import`, or a
// push to the OCI registry. One set of rules applies to all three:
//
//   - validation: the naming rule (names.go), SemVer and an OCI tag for
//     the version, the chart loader's archive checks, and for an OCI push
//     the agreement of config, layers, repository and tag with the archive;
//   - limits: the archive's size, the tenant's number of versions, and
//     whether an existing version may be replaced;
//   - policy: a provenance file is verified against the tenant's keys, or
//     the server signs, or an unsigned chart is refused.
//
// Checks that need nothing stored run before anything is written: a
// refused archive is never committed as a blob. What is written before a
// later refusal (the archive of an upload whose signature fails, the blobs
// of an OCI push) is referenced by no row, so nothing becomes visible and
// garbage collection removes it. Both faces of a version (its index entry
// and its OCI manifest) are committed by one storage.Charts.PutChart.
//
// Refusals are sentinel verdicts (errors.go), never HTTP statuses: each
// protocol turns them into its own answer in its one error table.
package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/provenance"
	"github.com/chartd/chartd/storage"
)

// Blobs is what the intake needs of the blob store.
type Blobs interface {
	storage.Fetcher
	storage.Pusher
}

// Meta is what the intake needs of the metadata database. When it is also
// a storage.Keys, the keys added through the API are trusted too.
type Meta interface {
	storage.Tenants
	ChartVersion(ctx context.Context, tenantID int64, name, version string) (storage.ChartVersion, error)
	PutChart(ctx context.Context, c storage.Chart, opt storage.PutOptions) error
	SetProvenance(ctx context.Context, c storage.Chart) error
	// LinkedBlob is storage.BlobLinks': an OCI push may use only blobs
	// linked in its repository.
	LinkedBlob(ctx context.Context, repoID int64, d digest.Digest) (storage.Descriptor, error)
}

// Limits are the intake's bounds.
type Limits struct {
	// MaxArchiveSize bounds a chart archive in bytes, through every
	// protocol (--max-upload-size); 0 leaves only the loader's bounds.
	MaxArchiveSize int64
	// MaxObjects, when > 0, bounds the versions of a tenant
	// (--max-storage-objects).
	MaxObjects int
	// NestedQuota counts the versions of the repository paths below a
	// tenant toward its MaxObjects (fixed --depth). With --depth-dynamic
	// every path is a tenant of its own.
	NestedQuota bool
	// AllowOverwrite lets a chart replace an existing version with other
	// content, through every protocol (--allow-overwrite).
	AllowOverwrite bool
	// Archive bounds the decompressed archive (the loader's limits).
	Archive chart.Limits
}

// Config configures an Intake.
type Config struct {
	Blobs  Blobs
	Meta   Meta
	Policy *Policy // nil: every tenant's policy is off
	Limits Limits
	Log    *slog.Logger
	// Now stamps versions (nil: time.Now).
	Now func() time.Time
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Blobs == nil {
		errs = append(errs, errors.New("intake: Config.Blobs is required"))
	}
	if c.Meta == nil {
		errs = append(errs, errors.New("intake: Config.Meta is required"))
	}
	if c.Limits.MaxArchiveSize < 0 {
		errs = append(errs, fmt.Errorf("intake: MaxArchiveSize %d must not be negative", c.Limits.MaxArchiveSize))
	}
	if c.Limits.MaxObjects < 0 {
		errs = append(errs, fmt.Errorf("intake: MaxObjects %d must not be negative", c.Limits.MaxObjects))
	}
	if err := c.Limits.Archive.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Intake applies the rules and commits charts.
type Intake struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and returns the Intake.
func New(cfg Config) (*Intake, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Intake{cfg: cfg, log: cfg.Log}, nil
}

// Policy is the intake's signature policy (nil when off everywhere).
func (in *Intake) Policy() *Policy { return in.cfg.Policy }

// Target is where a chart goes.
type Target struct {
	// Tenant is the tenant's path (the first --depth segments): its
	// signature policy, trusted keys and quota apply.
	Tenant string
	// Path is the repository path the chart is listed under (its own
	// index.yaml): the tenant's path, or a path below it.
	Path string
}

// check applies the naming rule to the target.
func (t Target) check() error {
	if err := CheckPath(t.Path); err != nil {
		return err
	}
	if t.Tenant != "" && t.Path != t.Tenant && !strings.HasPrefix(t.Path, t.Tenant+"/") {
		return fmt.Errorf("intake: repository path %q is not below tenant %q", t.Path, t.Tenant)
	}
	return nil
}

func (in *Intake) quota(t Target) storage.Quota {
	return storage.Quota{Max: in.cfg.Limits.MaxObjects, Tenant: t.Tenant, Nested: in.cfg.Limits.NestedQuota}
}

// keyring is every key trusted for the tenant: the policy's, and those
// added through the API.
func (in *Intake) keyring(ctx context.Context, tenant string) (openpgp.EntityList, error) {
	ring := in.cfg.Policy.configKeys(tenant)
	ks, ok := in.cfg.Meta.(storage.Keys)
	if !ok {
		return ring, nil
	}
	t, err := in.cfg.Meta.Tenant(ctx, tenant)
	if errors.Is(err, storage.ErrNotFound) {
		return ring, nil
	}
	if err != nil {
		return nil, err
	}
	keys, err := ks.Keys(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		el, err := provenance.ReadKeyring(strings.NewReader(k.Armored))
		if err != nil {
			// One unreadable key must not stop verification with the rest.
			in.log.WarnContext(ctx, "unreadable trusted key", "tenant", tenant, "fingerprint", k.Fingerprint, "err", err)
			continue
		}
		ring = append(ring, el...)
	}
	return ring, nil
}

// owned is a blob the intake wrote itself and can write again.
type owned struct {
	d    digest.Digest
	data []byte
}

// retry runs a commit. When garbage collection removed one of the blobs
// the intake wrote itself between its push and the commit (the database
// checks the store in the transaction), it is pushed again and the commit
// retried once.
func (in *Intake) retry(ctx context.Context, mine []owned, commit func() error) error {
	err := commit()
	var missing *storage.MissingBlobError
	if !errors.As(err, &missing) {
		return err
	}
	for _, b := range mine {
		if b.d == missing.Digest {
			if _, err := in.cfg.Blobs.Push(ctx, b.d, bytes.NewReader(b.data)); err != nil {
				return err
			}
			return commit()
		}
	}
	return err
}

// pushBytes commits a small blob the intake has in memory.
func (in *Intake) pushBytes(ctx context.Context, what string, b []byte) (storage.Descriptor, error) {
	d, err := in.cfg.Blobs.Push(ctx, digest.FromBytes(b), bytes.NewReader(b))
	if err != nil {
		return d, fmt.Errorf("intake: store %s: %w", what, err)
	}
	return d, nil
}
