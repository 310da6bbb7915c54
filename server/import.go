package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/storage"
)

// importMarker records in the bucket that a ChartMuseum layout was adopted,
// so later starts skip the scan and start-up stays independent of the
// number of charts.
const importMarker = storage.ImportedKey

// ImportIfFresh adopts a ChartMuseum storage layout the first time chartd
// starts on a bucket, and never again.
func (s *Server) ImportIfFresh(ctx context.Context, st *Stores) (int, error) {
	b, err := s.openBucket(ctx)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	if ok, err := b.Exists(ctx, importMarker); err != nil || ok {
		return 0, err
	}
	n, err := s.importFrom(ctx, b)
	if err != nil {
		return n, err
	}
	return n, b.WriteAll(ctx, importMarker, []byte("chartd\n"), nil)
}

// Import adopts every chart found in a ChartMuseum storage layout
// (<tenant path>/<name>-<version>.tgz with optional .prov) without moving or
// deleting anything, through the intake: under the rules an upload obeys,
// signature policy included. Versions already known are left alone; a
// chart the rules refuse is logged with the reason and stays where it is,
// so a later `chartd import` can adopt it once the rule is met.
func (s *Server) Import(ctx context.Context) (int, error) {
	b, err := s.openBucket(ctx)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	return s.importFrom(ctx, b)
}

func (s *Server) openBucket(ctx context.Context) (*blob.Bucket, error) {
	u, err := s.cfg.BucketURL()
	if err != nil {
		return nil, err
	}
	return blob.OpenBucket(ctx, u)
}

func (s *Server) importFrom(ctx context.Context, b *blob.Bucket) (int, error) {
	it := b.List(&blob.ListOptions{})
	imported := 0
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return imported, nil
		}
		if err != nil {
			return imported, fmt.Errorf("list storage: %w", err)
		}
		if obj.IsDir || storage.ChartdKey(obj.Key) || !strings.HasSuffix(obj.Key, ".tgz") {
			continue
		}
		repo := path.Dir(obj.Key)
		if repo == "." {
			repo = ""
		}
		tenant, below := s.importTenant(repo)
		if !below {
			continue
		}
		ok, err := s.importOne(ctx, b, intake.Target{Tenant: tenant, Path: repo}, obj.Key)
		if err != nil {
			// A broken file in the old store must not stop the adoption of
			// the rest; it is reported and left where it is.
			s.log.WarnContext(ctx, "not adopting chart", "key", obj.Key, "err", err)
			continue
		}
		if ok {
			imported++
		}
	}
}

// importTenant is the tenant of a directory of the layout: its first
// --depth segments (deeper directories are repository paths below it, as
// an OCI push would make them); ok is false for a directory above the
// tenants, which holds no charts.
func (s *Server) importTenant(repo string) (string, bool) {
	if s.cfg.DepthDynamic {
		return repo, true
	}
	var segs []string
	if repo != "" {
		segs = strings.Split(repo, "/")
	}
	if len(segs) < s.cfg.Depth {
		return "", false
	}
	return strings.Join(segs[:s.cfg.Depth], "/"), true
}

func (s *Server) importOne(ctx context.Context, b *blob.Bucket, t intake.Target, key string) (bool, error) {
	var prov []byte
	if p, err := b.ReadAll(ctx, key+".prov"); err == nil {
		prov = p
	} else if gcerrors.Code(err) != gcerrors.NotFound {
		return false, err
	}
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return false, err
	}
	defer r.Close()
	_, err = s.intake.Import(ctx, t, r, prov)
	if errors.Is(err, storage.ErrExists) {
		return false, nil
	}
	return err == nil, err
}
