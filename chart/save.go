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
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// fallbackModTime stamps entries whose source carries no time (a chart
// built in code): a fixed time keeps such archives reproducible, where Helm
// stamps time.Now().
func fallbackModTime() time.Time { return time.Unix(0, 0).UTC() }

// gzipExtra is the RFC 1952 extra field Helm writes in every chart archive's
// gzip header (subfield "rr", 40 bytes); with the comment "Helm" it makes
// our archives byte-identical to Helm's for the same files and times.
var gzipExtra = []byte("rr\x28\x00aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo=")

const gzipComment = "Helm"

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

// Write packages c as a gzipped tar stream in Helm 4's layout and order:
// under <name>/, Chart.yaml re-marshalled from Metadata, Chart.lock (v2
// charts) from Lock, values.yaml as it was read, values.schema.json, the
// templates and then the other files in the order they were loaded (a
// directory walk in lexical order), then each subchart the same way under
// charts/<name>/ (even subcharts that were archives).
//
// Every entry has mode 0644 and its file's modification time (Chart.lock's
// is its generated time), so for the same files and times the bytes equal
// Helm 4.3's; StampModTimes gives every entry one time (SOURCE_DATE_EPOCH).
// Helm writes subcharts in map order; ours come in name order.
func Write(w io.Writer, c *Chart) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("chart validation: %w", err)
	}
	var entries []*File
	if err := collect(&entries, c, ""); err != nil {
		return err
	}
	seen := make(map[string]bool, len(entries))
	for _, f := range entries {
		if seen[f.Name] {
			return errorf(ErrInvalidChart, "chart has two files named %s", f.Name)
		}
		seen[f.Name] = true
	}

	zw := gzip.NewWriter(w)
	zw.Extra = gzipExtra
	zw.Comment = gzipComment
	tw := tar.NewWriter(zw)
	for _, f := range entries {
		mt := f.ModTime
		if mt.IsZero() {
			mt = fallbackModTime()
		}
		hd := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.Name,
			Mode:     0o644,
			Size:     int64(len(f.Data)),
			ModTime:  mt,
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

// collect appends c's files, named as in the archive, in Helm's order.
func collect(out *[]*File, c *Chart, prefix string) error {
	if c.Metadata == nil {
		return ErrNoChartYaml
	}
	if err := c.Validate(); err != nil {
		return err
	}
	base := path.Join(prefix, c.Name())
	add := func(name string, data []byte, mt time.Time) {
		*out = append(*out, &File{Name: path.Join(base, name), Data: data, ModTime: mt})
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
	add(ChartfileName, data, c.ModTime)

	if md.APIVersion == APIVersionV2 && c.Lock != nil {
		data, err := marshalLock(c.Lock)
		if err != nil {
			return err
		}
		add(LockfileName, data, lockTime(c.Lock))
	}

	values := false
	for _, f := range c.Raw {
		if f.Name == ValuesFileName {
			add(ValuesFileName, f.Data, f.ModTime)
			values = true
		}
	}
	// A chart built in code has Values but no raw values.yaml.
	if !values && c.Values != nil {
		data, err := yaml.Marshal(c.Values)
		if err != nil {
			return fmt.Errorf("chart: marshalling values.yaml: %w", err)
		}
		add(ValuesFileName, data, time.Time{})
	}

	if c.Schema != nil {
		if !json.Valid(c.Schema) {
			return errorf(ErrInvalidChart, "Invalid JSON in %s", SchemaFileName)
		}
		add(SchemaFileName, c.Schema, c.SchemaModTime)
	}
	for _, group := range [][]*File{c.Templates, c.Files} {
		for _, f := range group {
			name := path.Clean(f.Name)
			if !isLocal(name) {
				return errorf(ErrPathTraversal, "chart file %q is outside the chart directory", f.Name)
			}
			add(name, f.Data, f.ModTime)
		}
	}
	for _, dep := range c.Dependencies() {
		if err := collect(out, dep, path.Join(base, ChartsDir)); err != nil {
			return fmt.Errorf("saving %s: %w", dep.ChartFullPath(), err)
		}
	}
	return nil
}

// lockTime is the time Helm stamps on Chart.lock: its generated time (zero,
// and so the fallback, when it does not parse; marshalLock reports that).
func lockTime(l *Lock) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, l.Generated)
	return t
}

// StampModTimes gives every file of c and its subcharts the time t (UTC,
// whole seconds), Chart.lock's generated time included, as Helm 4 does for
// SOURCE_DATE_EPOCH, so archives are reproducible across checkouts.
func (c *Chart) StampModTimes(t time.Time) {
	t = t.UTC().Truncate(time.Second)
	c.ModTime = t
	if len(c.Schema) > 0 {
		c.SchemaModTime = t
	}
	if c.Lock != nil {
		c.Lock.Generated = t.Format(time.RFC3339Nano)
	}
	for _, group := range [][]*File{c.Raw, c.Templates, c.Files} {
		for _, f := range group {
			if f != nil {
				f.ModTime = t
			}
		}
	}
	for _, dep := range c.Dependencies() {
		dep.StampModTimes(t)
	}
}

// isLocal reports whether a cleaned slash path stays inside its directory.
func isLocal(p string) bool {
	return p != "" && p != "." && p != ".." && !path.IsAbs(p) && !strings.HasPrefix(p, "../")
}
