package plugin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Installer errors, with Helm's messages.
var (
	ErrExists          = errors.New("plugin already exists")
	ErrNotExist        = errors.New("plugin does not exist")
	ErrNotAFolder      = errors.New("expected plugin to be a folder")
	ErrMissingMetadata = errors.New("plugin metadata (plugin.yaml) missing")
	ErrNoSource        = errors.New("cannot get information about plugin source")
	// ErrVerify: a signature was required and is missing or does not verify.
	ErrVerify = errors.New("plugin verification failed")
)

// Fetcher downloads a URL (repo.Getter in the client).
type Fetcher interface {
	Get(ctx context.Context, url string) ([]byte, error)
}

// Verifier checks an archive against its provenance file and returns the
// lines to print on success (Signed by, fingerprint, hash).
type Verifier interface {
	VerifyPlugin(ctx context.Context, name string, archive, prov []byte) ([]string, error)
}

// Installer installs plugins from a local directory (linked, as Helm
// does), a local .tgz or an http(s) URL to one.
type Installer struct {
	// Dir is where plugins are installed: the first of $HELM_PLUGINS.
	Dir     string
	Fetcher Fetcher
	// Verifier checks archives that come with a .prov; nil skips that.
	Verifier Verifier
	// Verify (Helm 4's --verify) makes a missing or bad signature an error.
	Verify bool
	// Out receives the verification lines, Warn the warning about an
	// unsigned archive.
	Out, Warn io.Writer
}

var archiveSuffix = regexp.MustCompile(`\.(tgz|tar\.gz)$`)

// Install installs the plugin at source and loads it.
func (in *Installer) Install(ctx context.Context, source string) (*Plugin, error) {
	if err := os.MkdirAll(in.Dir, 0o755); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(source); err == nil {
		if fi.IsDir() {
			return in.installDir(source)
		}
		if !archiveSuffix.MatchString(source) {
			return nil, ErrNotAFolder
		}
		data, err := os.ReadFile(source)
		if err != nil {
			return nil, err
		}
		prov, err := os.ReadFile(source + ".prov")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return in.installArchive(ctx, source, data, prov)
	}
	if strings.HasPrefix(source, "oci://") {
		return nil, fmt.Errorf("%w: installing plugins from OCI registries is not supported by this client", ErrUnsupported)
	}
	if !strings.HasPrefix(source, "http://") && !strings.HasPrefix(source, "https://") {
		return nil, fmt.Errorf("plugin source %q: %w", source, fs.ErrNotExist)
	}
	if !archiveSuffix.MatchString(strings.SplitN(source, "?", 2)[0]) {
		return nil, fmt.Errorf("%w: %s is not a .tgz archive, and installing from a VCS repository is not supported by this client", ErrNoSource, source)
	}
	data, err := in.Fetcher.Get(ctx, source)
	if err != nil {
		return nil, err
	}
	// A missing .prov is not an error unless verification is required.
	prov, _ := in.Fetcher.Get(ctx, source+".prov")
	return in.installArchive(ctx, source, data, prov)
}

// installDir links a plugin directory; like Helm 4 it is a development
// install, never verified.
func (in *Installer) installDir(source string) (*Plugin, error) {
	src, err := filepath.Abs(source)
	if err != nil {
		return nil, fmt.Errorf("unable to get absolute path to plugin: %w", err)
	}
	if _, err := os.Stat(filepath.Join(src, FileName)); err != nil {
		return nil, ErrMissingMetadata
	}
	dst := filepath.Join(in.Dir, filepath.Base(src))
	if _, err := os.Lstat(dst); err == nil {
		return nil, ErrExists
	}
	if err := os.Symlink(src, dst); err != nil {
		return nil, err
	}
	p, err := LoadDir(dst)
	if err != nil {
		return nil, fmt.Errorf("plugin is installed but unusable: %w", err)
	}
	return p, nil
}

// pluginName is Helm's name for an archive's directory: the file name
// without its suffix and version ("diff-3.9.0.tgz" is "diff").
func pluginName(source string) string {
	base := archiveSuffix.ReplaceAllString(path.Base(strings.SplitN(source, "?", 2)[0]), "")
	return regexp.MustCompile(`(.*)-[0-9]+\..*`).ReplaceAllString(base, `$1`)
}

func (in *Installer) installArchive(ctx context.Context, source string, data, prov []byte) (*Plugin, error) {
	name := pluginName(source)
	dst := filepath.Join(in.Dir, name)
	if _, err := os.Lstat(dst); err == nil {
		return nil, ErrExists
	}
	if prov != nil || in.Verify {
		fmt.Fprintln(in.Out, "Verifying plugin signature...")
	}
	switch {
	case prov == nil && in.Verify:
		return nil, fmt.Errorf("%w: no provenance file (.prov) found", ErrVerify)
	case prov == nil:
		fmt.Fprintf(in.Warn, "WARNING: no provenance file (.prov) found for %s: the plugin's signature is not verified\n", source)
	case in.Verifier != nil:
		lines, err := in.Verifier.VerifyPlugin(ctx, path.Base(strings.SplitN(source, "?", 2)[0]), data, prov)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrVerify, err)
		}
		for _, l := range lines {
			fmt.Fprintln(in.Out, l)
		}
	}
	// Extract beside the plugins, two levels down so that a half-extracted
	// plugin is never listed, then move it into place in one rename.
	tmp, err := os.MkdirTemp(in.Dir, ".install-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "x")
	if err := Extract(data, root); err != nil {
		return nil, fmt.Errorf("extracting files from archive: %w", err)
	}
	dir, err := pluginRoot(root)
	if err != nil {
		return nil, err
	}
	if _, err := LoadDir(dir); err != nil {
		return nil, err
	}
	if err := os.Rename(dir, dst); err != nil {
		return nil, err
	}
	return LoadDir(dst)
}

// pluginRoot finds plugin.yaml at the top of the archive or in its one
// top-level directory (Helm 4 accepts both; Helm 3 only the first).
func pluginRoot(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		return dir, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), FileName)); err == nil {
				return filepath.Join(dir, e.Name()), nil
			}
		}
	}
	return "", ErrMissingMetadata
}

// Extract unpacks a .tgz into dir, refusing what could escape it: absolute
// names, "..", ":" and links.
func Extract(data []byte, dir string) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.ReplaceAll(h.Name, `\`, "/")
		switch {
		case strings.Contains(name, ":"):
			return errors.New("path contains ':', which is illegal")
		case path.IsAbs(name):
			return errors.New("path is absolute, which is illegal")
		case slices.Contains(strings.Split(name, "/"), ".."):
			return errors.New("path contains '..', which is illegal")
		}
		p := filepath.Join(dir, filepath.FromSlash(path.Clean(name)))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(h.Mode)&0o777)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
		default:
			return fmt.Errorf("unknown type: %b in %s", h.Typeflag, h.Name)
		}
	}
}

// Update re-reads p: a plugin linked from a local directory is updated in
// place; Helm can only update plugins cloned from a VCS, which this client
// does not install.
func Update(p *Plugin) (*Plugin, error) {
	fi, err := os.Lstat(p.Dir)
	if err != nil {
		return nil, ErrNotExist
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return nil, ErrNoSource
	}
	return LoadDir(p.Dir)
}

// Uninstall removes p (the link, for a linked plugin).
func Uninstall(p *Plugin) error {
	return os.RemoveAll(p.Dir)
}
