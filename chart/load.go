package chart

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/chart/ignore"
)

// Well-known names inside a chart.
const (
	ChartfileName  = "Chart.yaml"
	ValuesFileName = "values.yaml"
	SchemaFileName = "values.schema.json"
	LockfileName   = "Chart.lock"
	TemplatesDir   = "templates"
	ChartsDir      = "charts"

	// Helm 2 (apiVersion v1) dependency files.
	requirementsName     = "requirements.yaml"
	requirementsLockName = "requirements.lock"
)

// maxDirDepth bounds directory nesting in LoadDir: symlinks are followed, as
// Helm does, and a link to an ancestor would otherwise never end.
const maxDirDepth = 64

// Load loads a chart from a directory or a .tgz archive, with the default
// Limits.
func Load(ctx context.Context, name string) (*Chart, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return LoadDir(ctx, name)
	}
	return LoadFile(ctx, name)
}

// LoadFile loads a chart archive file, with Helm's hint when the file is not
// an archive at all (a common mistake is passing values.yaml as the chart).
func LoadFile(ctx context.Context, name string) (*Chart, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 512)
	head, _ := br.Peek(512)
	if err := CheckArchiveFile(name, head); err != nil {
		return nil, err
	}
	return LoadArchive(ctx, br)
}

// LoadArchive loads a chart archive from r with the default Limits.
func LoadArchive(ctx context.Context, r io.Reader) (*Chart, error) {
	return ReadArchive(ctx, r, Limits{})
}

// LoadDir loads a chart directory like Helm: .helmignore applies (plus the
// built-in rule for dotfiles in templates/), symlinks are followed, a UTF-8
// byte order mark is dropped from every file, and irregular files are an
// error. The default Limits apply to the files loaded.
func LoadDir(ctx context.Context, dir string) (*Chart, error) {
	top, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(top)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("chart: %s is not a directory", dir)
	}
	rules, err := readIgnore(top)
	if err != nil {
		return nil, err
	}
	rules.AddDefaults()

	b := newBudget(Limits{})
	w := dirWalker{ctx: ctx, rules: rules, b: b}
	if err := w.walk(top, "", 0); err != nil {
		return nil, err
	}
	if len(w.files) == 0 {
		return nil, ErrNoChartYaml
	}
	return loadFiles(ctx, w.files, b, keepAll)
}

func readIgnore(top string) (*ignore.Rules, error) {
	f, err := os.Open(filepath.Join(top, ignore.FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return &ignore.Rules{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rules, err := ignore.Parse(f)
	if err != nil {
		return nil, wrapf(ErrInvalidChart, err, "cannot load %s", ignore.FileName)
	}
	return rules, nil
}

type dirWalker struct {
	ctx   context.Context
	rules *ignore.Rules
	b     *budget
	files []*File
}

// walk visits dir (rel is its slash path below the chart root) in lexical
// order, as Helm does, so Templates and Files come out in the same order.
func (w *dirWalker) walk(dir, rel string, depth int) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if depth > maxDirDepth {
		return errorf(ErrTooLarge, "chart directory %s is nested deeper than %d levels (symlink loop?)", dir, maxDirDepth)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		abs := filepath.Join(dir, e.Name())
		name := path.Join(rel, e.Name())
		fi, err := os.Stat(abs) // follows symlinks, like Helm
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		if fi.IsDir() {
			if w.rules.Ignore(name, true) {
				continue
			}
			if err := w.walk(abs, name, depth+1); err != nil {
				return err
			}
			continue
		}
		if w.rules.Ignore(name, false) {
			continue
		}
		if !fi.Mode().IsRegular() {
			return errorf(ErrIrregularFile, "cannot load irregular file %s as it has file mode type bits set", abs)
		}
		if fi.Size() > w.b.lim.MaxFileSize {
			return errorf(ErrTooLarge, "chart file %q is larger than the maximum file size %d", name, w.b.lim.MaxFileSize)
		}
		w.b.files++
		if w.b.files > w.b.lim.MaxFiles {
			return errorf(ErrTooLarge, "chart has more than %d files", w.b.lim.MaxFiles)
		}
		data, err := os.ReadFile(abs)
		if err != nil {
			return fmt.Errorf("chart: error reading %s: %w", name, err)
		}
		w.b.remaining -= int64(len(data))
		if w.b.remaining < 0 {
			return w.b.tooLarge()
		}
		w.files = append(w.files, &File{Name: name, Data: trimBOM(data), ModTime: fi.ModTime()})
	}
	return nil
}

// loadFiles builds a chart from its files, named relative to the chart root,
// the way Helm's loader.LoadFiles does. Subcharts found in charts/ (as
// directories or .tgz archives) are loaded recursively, in name order.
func loadFiles(ctx context.Context, files []*File, b *budget, keep keepFunc) (*Chart, error) {
	c := new(Chart)
	// Chart.yaml first: other files (requirements.yaml) depend on it.
	for _, f := range files {
		c.Raw = append(c.Raw, f)
		if f.Name != ChartfileName {
			continue
		}
		md, err := parseMetadata(f.Data, b.lim)
		if err != nil {
			return nil, err
		}
		// Helm 2 accepted charts without apiVersion; they are v1 charts.
		if md.APIVersion == "" {
			md.APIVersion = APIVersionV1
		}
		c.Metadata = md
		c.ModTime = f.ModTime
	}
	if c.Metadata == nil {
		return nil, ErrNoChartYaml
	}

	subcharts := make(map[string][]*File)
	for _, f := range files {
		switch {
		case f.Name == ChartfileName:
		case f.Name == LockfileName:
			lock, err := parseLock(f.Data, b.lim)
			if err != nil {
				return nil, loadError(LockfileName, err)
			}
			c.Lock = lock
		case f.Name == ValuesFileName:
			c.Values = make(map[string]interface{})
			if err := unmarshalYAML(f.Data, &c.Values, b.lim.MaxFileSize, ErrTooLarge); err != nil {
				return nil, loadError(ValuesFileName, err)
			}
		case f.Name == SchemaFileName:
			c.Schema = f.Data
			c.SchemaModTime = f.ModTime
		case f.Name == requirementsName:
			// Helm 2 kept dependencies here; Helm 3 still reads them, for
			// any apiVersion, and keeps the file itself for v1 charts.
			if err := checkChartfileSize(requirementsName, f.Data, b.lim); err != nil {
				return nil, err
			}
			if err := unmarshalYAML(f.Data, c.Metadata, b.lim.MaxChartfileSize, ErrMetadataTooLarge); err != nil {
				return nil, loadError(requirementsName, err)
			}
			if c.Metadata.APIVersion == APIVersionV1 {
				c.Files = append(c.Files, f)
			}
		case f.Name == requirementsLockName:
			lock, err := parseLock(f.Data, b.lim)
			if err != nil {
				return nil, loadError(requirementsLockName, err)
			}
			c.Lock = lock
			if c.Metadata.APIVersion == APIVersionV1 {
				c.Files = append(c.Files, f)
			}
		case strings.HasPrefix(f.Name, TemplatesDir+"/"):
			c.Templates = append(c.Templates, f)
		case strings.HasPrefix(f.Name, ChartsDir+"/"):
			if path.Ext(f.Name) == ".prov" {
				c.Files = append(c.Files, f)
				continue
			}
			rest := strings.TrimPrefix(f.Name, ChartsDir+"/")
			sub, _, _ := strings.Cut(rest, "/")
			subcharts[sub] = append(subcharts[sub], &File{Name: rest, Data: f.Data, ModTime: f.ModTime})
		default:
			c.Files = append(c.Files, f)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := b.lim.CheckMetadata(c.Metadata); err != nil {
		return nil, err
	}

	names := make([]string, 0, len(subcharts))
	for n := range subcharts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.HasPrefix(n, "_") || strings.HasPrefix(n, ".") {
			continue // Helm skips these by convention
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sc, err := loadSubchart(ctx, n, subcharts[n], b, keep)
		if err != nil {
			return nil, wrapf(nil, err, "error unpacking subchart %s in %s", n, c.Name())
		}
		c.AddDependency(sc)
	}
	return c, nil
}

// loadError is Helm's "cannot load <file>: <cause>". A cause the guards
// already classified (an alias bomb is ErrTooLarge) keeps its class alone,
// so both protocols' error tables give it the same status; anything else is
// an ErrInvalidChart.
func loadError(name string, err error) error {
	if errors.Is(err, ErrInvalidChart) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrBadArchive) {
		return wrapf(nil, err, "cannot load %s", name)
	}
	return wrapf(ErrInvalidChart, err, "cannot load %s", name)
}

func loadSubchart(ctx context.Context, n string, files []*File, b *budget, keep keepFunc) (*Chart, error) {
	if path.Ext(n) == ".tgz" {
		if f := files[0]; len(files) != 1 || f.Name != n {
			return nil, errorf(ErrInvalidChart, "expected %s, got %s", n, files[len(files)-1].Name)
		}
		return readArchive(ctx, bytes.NewReader(files[0].Data), b, keep)
	}
	// A directory: drop its name from every path. A file directly in
	// charts/ that is neither an archive nor a directory leaves nothing, and
	// then fails as a chart without Chart.yaml, as in Helm.
	inner := make([]*File, 0, len(files))
	for _, f := range files {
		_, rest, ok := strings.Cut(f.Name, "/")
		if !ok {
			continue
		}
		inner = append(inner, &File{Name: rest, Data: f.Data, ModTime: f.ModTime})
	}
	return loadFiles(ctx, inner, b, keep)
}

// lockFile is Chart.lock as Helm types it: generated is a time, so an
// unparsable one fails to load in Helm and here.
type lockFile struct {
	Generated    time.Time     `json:"generated"`
	Digest       string        `json:"digest"`
	Dependencies []*Dependency `json:"dependencies"`
}

func parseLock(data []byte, lim Limits) (*Lock, error) {
	var lf *lockFile
	if err := unmarshalYAML(data, &lf, lim.MaxFileSize, ErrTooLarge); err != nil {
		return nil, err
	}
	if lf == nil {
		return nil, nil
	}
	return &Lock{
		Generated:    lf.Generated.Format(time.RFC3339Nano),
		Digest:       lf.Digest,
		Dependencies: lf.Dependencies,
	}, nil
}

// marshalLock writes a lock as Helm does, from its time-typed form, so a
// packaged Chart.lock is byte-identical to Helm's.
func marshalLock(l *Lock) ([]byte, error) {
	lf := lockFile{Digest: l.Digest, Dependencies: l.Dependencies}
	if l.Generated != "" {
		t, err := time.Parse(time.RFC3339Nano, l.Generated)
		if err != nil {
			return nil, errorf(ErrInvalidChart, "Chart.lock: generated %q is not an RFC 3339 time", l.Generated)
		}
		lf.Generated = t
	}
	return yaml.Marshal(lf)
}
