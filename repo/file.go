// Package repo implements Helm's chart-repository client side: the
// repositories.yaml file, downloading index files into Helm's cache layout,
// a compact search cache kept beside it, searching, and chart URL resolution.
package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"sigs.k8s.io/yaml"
)

// ErrNoRepositories is Helm's error when repositories.yaml lists none.
var ErrNoRepositories = errors.New("no repositories configured")

// Entry is one repository in repositories.yaml. The JSON names are Helm's.
type Entry struct {
	Name                  string `json:"name"`
	URL                   string `json:"url"`
	Username              string `json:"username"`
	Password              string `json:"password"`
	CertFile              string `json:"certFile"`
	KeyFile               string `json:"keyFile"`
	CAFile                string `json:"caFile"`
	InsecureSkipTLSVerify bool   `json:"insecure_skip_tls_verify"`
	PassCredentialsAll    bool   `json:"pass_credentials_all"`
	// PlainHTTP is for OCI namespaces only (OCIFilePath): real Helm never
	// sees it, since repositories.yaml never holds an oci:// entry.
	PlainHTTP bool `json:"plain_http,omitempty"`
}

// OCIFilePath is where OCI namespaces added as repositories are kept:
// beside repositories.yaml, in a file of the same format that real Helm
// does not read. Real Helm refuses oci:// repositories, and would fail
// `repo update` on every one of them were they in repositories.yaml.
func OCIFilePath(repoFile string) string {
	return filepath.Join(filepath.Dir(repoFile), "oci-repositories.yaml")
}

// File is repositories.yaml.
type File struct {
	APIVersion   string    `json:"apiVersion"`
	Generated    time.Time `json:"generated"`
	Repositories []*Entry  `json:"repositories"`
}

// LoadFile reads repositories.yaml. A missing file yields an empty File and
// an error satisfying errors.Is(err, fs.ErrNotExist), as callers treat that
// as "no repositories".
func LoadFile(path string) (*File, error) {
	f := &File{}
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("couldn't load repositories file (%s): %w", path, err)
	}
	if err := yaml.Unmarshal(b, f); err != nil {
		return f, fmt.Errorf("parse %s: %w", path, err)
	}
	return f, nil
}

// IsNotExist reports whether err means the repositories file is missing.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// WriteFile writes the file with Helm's layout and the given mode.
func (f *File) WriteFile(path string, perm os.FileMode) error {
	b, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("marshal repositories file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	return WriteAtomic(path, b, perm)
}

// Has reports whether a repository named name exists.
func (f *File) Has(name string) bool { return f.Get(name) != nil }

// Get returns the entry named name, or nil.
func (f *File) Get(name string) *Entry {
	for _, e := range f.Repositories {
		if e != nil && e.Name == name {
			return e
		}
	}
	return nil
}

// Update replaces the entry of the same name, or appends it.
func (f *File) Update(e *Entry) {
	for i, x := range f.Repositories {
		if x != nil && x.Name == e.Name {
			f.Repositories[i] = e
			return
		}
	}
	f.Repositories = append(f.Repositories, e)
}

// Remove drops the entry named name and reports whether it was there.
func (f *File) Remove(name string) bool {
	kept := f.Repositories[:0]
	found := false
	for _, e := range f.Repositories {
		if e == nil {
			continue
		}
		if e.Name == name {
			found = true
			continue
		}
		kept = append(kept, e)
	}
	f.Repositories = kept
	return found
}

// LockPath is the lock file Helm uses beside repositories.yaml: the same
// path with its extension replaced by ".lock".
func LockPath(repoFile string) string {
	ext := filepath.Ext(repoFile)
	if ext != "" && len(ext) < len(repoFile) {
		return strings.TrimSuffix(repoFile, ext) + ".lock"
	}
	return repoFile + ".lock"
}

// Lock takes Helm's advisory lock on repositories.yaml so that concurrent
// `repo add` runs (ours or real Helm's) do not lose each other's entries.
// The returned function releases it.
func Lock(ctx context.Context, repoFile string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(repoFile), 0o755); err != nil {
		return nil, fmt.Errorf("create config directory: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l := flock.New(LockPath(repoFile))
	ok, err := l.TryLockContext(ctx, 100*time.Millisecond)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", LockPath(repoFile), err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", LockPath(repoFile), context.DeadlineExceeded)
	}
	return func() { _ = l.Unlock() }, nil
}

// WriteAtomic writes through a temporary file and a rename so readers (other
// helm processes) never see a half-written file.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
