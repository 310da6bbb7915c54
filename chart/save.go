package chart

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// archiveModTime is the modification time of every packaged file: a fixed
// time makes packaging reproducible (Helm stamps time.Now()).
func archiveModTime() time.Time { return time.Unix(0, 0).UTC() }

// ArchiveName is the file name Helm gives a packaged chart: name-version.tgz.
func ArchiveName(md *Metadata) string {
	return fmt.Sprintf("%s-%s.tgz", md.Name, md.Version)
}

// Save validates c and packages it as dir/<name>-<version>.tgz, creating dir
// if needed. The file appears atomically (written aside, then renamed). It
// returns the archive's path.
func Save(ctx context.Context, c *Chart, dir string) (string, error) {
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("chart validation: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := filepath.Join(dir, ArchiveName(c.Metadata))
	tmp, err := os.CreateTemp(dir, ".chart-*.tgz")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := ctx.Err(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := Write(tmp, c); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return "", err
	}
	return name, nil
}

// Write packages c as a gzipped tar stream in Helm's layout: every file under
// <name>/, Chart.yaml re-marshalled from Metadata, Chart.lock (v2 charts)
// from Lock, values.yaml as it was read, values.schema.json, templates, other
// files, and subcharts unpacked under charts/<name>/ (as Helm does, even for
// subcharts that were archives).
//
// Unlike Helm the output is reproducible: Chart.yaml comes first (so
// streaming readers meet the metadata early), the other entries follow in
// path order, and every entry has mode 0644 and a fixed mtime.
func Write(w io.Writer, c *Chart) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("chart validation: %w", err)
	}
	var entries []*File
	if err := collect(&entries, c, ""); err != nil {
		return err
	}
	// The root Chart.yaml is collected first; keep it there.
	rest := entries[1:]
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].Name < rest[j].Name })
	for i := 1; i < len(rest); i++ {
		if rest[i].Name == rest[i-1].Name {
			return errorf(ErrInvalidChart, "chart has two files named %s", rest[i].Name)
		}
	}

	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	for _, f := range entries {
		hd := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.Name,
			Mode:     0o644,
			Size:     int64(len(f.Data)),
			ModTime:  archiveModTime(),
		}
		if err := tw.WriteHeader(hd); err != nil {
			return fmt.Errorf("chart: writing %s: %w", f.Name, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return fmt.Errorf("chart: writing %s: %w", f.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("chart: writing archive: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("chart: writing archive: %w", err)
	}
	return nil
}

// collect appends c's files, named as in the archive, Chart.yaml first.
func collect(out *[]*File, c *Chart, prefix string) error {
	if c.Metadata == nil {
		return ErrNoChartYaml
	}
	if err := c.Validate(); err != nil {
		return err
	}
	base := path.Join(prefix, c.Name())
	add := func(name string, data []byte) {
		*out = append(*out, &File{Name: path.Join(base, name), Data: data})
	}

	// A v1 chart keeps its dependencies in requirements.yaml (among Files),
	// not in Chart.yaml.
	md := *c.Metadata
	if md.APIVersion == APIVersionV1 {
		md.Dependencies = nil
	}
	data, err := yaml.Marshal(&md)
	if err != nil {
		return fmt.Errorf("chart: marshalling Chart.yaml: %w", err)
	}
	add(ChartfileName, data)

	if md.APIVersion == APIVersionV2 && c.Lock != nil {
		data, err := marshalLock(c.Lock)
		if err != nil {
			return err
		}
		add(LockfileName, data)
	}

	values := false
	for _, f := range c.Raw {
		if f.Name == ValuesFileName {
			add(ValuesFileName, f.Data)
			values = true
		}
	}
	// A chart built in code has Values but no raw values.yaml.
	if !values && c.Values != nil {
		data, err := yaml.Marshal(c.Values)
		if err != nil {
			return fmt.Errorf("chart: marshalling values.yaml: %w", err)
		}
		add(ValuesFileName, data)
	}

	if c.Schema != nil {
		if !json.Valid(c.Schema) {
			return errorf(ErrInvalidChart, "Invalid JSON in %s", SchemaFileName)
		}
		add(SchemaFileName, c.Schema)
	}
	for _, group := range [][]*File{c.Templates, c.Files} {
		for _, f := range group {
			name := path.Clean(f.Name)
			if !isLocal(name) {
				return errorf(ErrPathTraversal, "chart file %q is outside the chart directory", f.Name)
			}
			add(name, f.Data)
		}
	}
	for _, dep := range c.Dependencies() {
		if err := collect(out, dep, path.Join(base, ChartsDir)); err != nil {
			return fmt.Errorf("saving %s: %w", dep.ChartFullPath(), err)
		}
	}
	return nil
}

// isLocal reports whether a cleaned slash path stays inside its directory.
func isLocal(p string) bool {
	return p != "" && p != "." && p != ".." && !path.IsAbs(p) && !strings.HasPrefix(p, "../")
}
