package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/index"
)

// LoadIndexFile reads a full index file (JSON or YAML) with Helm's rules,
// for `repo index --merge`, which must keep every field.
func LoadIndexFile(p string) (*index.File, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return index.Load(b)
}

// WriteIndexFile renders an index as YAML, or JSON with asJSON, to p.
func WriteIndexFile(f *index.File, p string, asJSON bool) error {
	var b []byte
	var err error
	if asJSON {
		b, err = json.MarshalIndent(f, "", "  ")
	} else {
		b, err = yaml.Marshal(f)
	}
	if err != nil {
		return fmt.Errorf("render index: %w", err)
	}
	return WriteAtomic(p, b, 0o644)
}

// IndexDirectory builds an index of dir/*.tgz and dir/*/*.tgz as `helm repo
// index` does: URLs are baseURL joined with the archive's relative path,
// digests are the archives' sha256, and files that are not charts are skipped.
func IndexDirectory(ctx context.Context, dir, baseURL string) (*index.File, error) {
	archives, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil {
		return nil, err
	}
	more, err := filepath.Glob(filepath.Join(dir, "*", "*.tgz"))
	if err != nil {
		return nil, err
	}
	archives = append(archives, more...)
	idx := index.New(time.Now())
	for _, arch := range archives {
		rel, err := filepath.Rel(dir, arch)
		if err != nil {
			return nil, err
		}
		parent, fname := filepath.Split(rel)
		parent = filepath.ToSlash(strings.TrimSuffix(parent, string(os.PathSeparator)))
		ch, digest, err := loadAndDigest(ctx, arch)
		if err != nil {
			// Like Helm: a .tgz that is not a chart is not indexed.
			continue
		}
		if err := idx.Add(ch.Metadata, fname, urlJoin(baseURL, parent), digest, time.Now()); err != nil {
			return nil, fmt.Errorf("failed adding to %s to index: %w", fname, err)
		}
	}
	return idx, nil
}

func loadAndDigest(ctx context.Context, p string) (*chart.Chart, string, error) {
	ch, err := chart.LoadFile(ctx, p)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, "", err
	}
	return ch, hex.EncodeToString(h.Sum(nil)), nil
}

// urlJoin joins path elements onto a URL's path; a base that does not parse
// is joined as a plain path, as Helm falls back to.
func urlJoin(base string, elem ...string) string {
	if base == "" {
		return path.Join(elem...)
	}
	u, err := url.Parse(base)
	if err != nil {
		return path.Join(append([]string{base}, elem...)...)
	}
	u.Path = path.Join(append([]string{u.Path}, elem...)...)
	return u.String()
}
