package chart

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Default limits. The size limits are Helm's own loader caps
// (loader.MaxDecompressedChartSize and loader.MaxDecompressedFileSize), so
// anything we accept real Helm can load.
const (
	DefaultMaxDecompressed int64 = 100 << 20
	DefaultMaxFileSize     int64 = 5 << 20
	DefaultMaxFiles              = 10000
)

// Limits bound the work and memory spent on one chart archive, nested
// subchart archives included. A zero field takes its default.
type Limits struct {
	// MaxDecompressed bounds, separately, the decompressed tar streams
	// (headers included) and the file contents (sparse entries expanded) of
	// the archive and of every archive nested in charts/. Helm counts file
	// contents of one archive only, so this is slightly stricter.
	MaxDecompressed int64
	// MaxFiles bounds the number of tar entries, directories included.
	MaxFiles int
	// MaxFileSize bounds a single file.
	MaxFileSize int64
}

// Validate reports every negative limit.
func (l Limits) Validate() error {
	var errs []error
	if l.MaxDecompressed < 0 {
		errs = append(errs, fmt.Errorf("chart: Limits.MaxDecompressed must not be negative, got %d", l.MaxDecompressed))
	}
	if l.MaxFiles < 0 {
		errs = append(errs, fmt.Errorf("chart: Limits.MaxFiles must not be negative, got %d", l.MaxFiles))
	}
	if l.MaxFileSize < 0 {
		errs = append(errs, fmt.Errorf("chart: Limits.MaxFileSize must not be negative, got %d", l.MaxFileSize))
	}
	return errors.Join(errs...)
}

func (l Limits) withDefaults() Limits {
	if l.MaxDecompressed == 0 {
		l.MaxDecompressed = DefaultMaxDecompressed
	}
	if l.MaxFiles == 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxFileSize == 0 {
		l.MaxFileSize = DefaultMaxFileSize
	}
	return l
}

// ArchiveInfo is what the server keeps of an uploaded chart.
type ArchiveInfo struct {
	// Metadata is the validated Chart.yaml (apiVersion defaulted to v1).
	Metadata *Metadata
	// Values is values.yaml as stored (byte order mark removed), nil when the
	// chart has none.
	Values []byte
	// Templates are the template paths relative to the chart root, e.g.
	// "templates/deployment.yaml", sorted.
	Templates []string
	// Files is the number of regular files in the archive; Size their total
	// decompressed size.
	Files int
	Size  int64
}

// ReadArchive reads a chart archive (.tgz) from r and loads it like Helm,
// with guards: the archive must be gzip+tar with one top directory holding
// Chart.yaml, entries must be regular files or directories inside it, and the
// limits hold for it and every subchart archive in charts/. r is read only as
// far as needed.
func ReadArchive(ctx context.Context, r io.Reader, lim Limits) (*Chart, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	b := newBudget(lim)
	return readArchive(ctx, r, b, keepAll)
}

// ReadArchiveMetadata validates an archive exactly as ReadArchive does (every
// entry, Chart.yaml, values.yaml, Chart.lock and subcharts) but keeps only
// what ArchiveInfo holds, so the contents of templates and other files are
// never held in memory.
func ReadArchiveMetadata(ctx context.Context, r io.Reader, lim Limits) (*ArchiveInfo, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	b := newBudget(lim)
	c, err := readArchive(ctx, r, b, keepMetadata)
	if err != nil {
		return nil, err
	}
	info := &ArchiveInfo{Metadata: c.Metadata, Files: b.rootFiles, Size: b.rootSize}
	for _, f := range c.Raw {
		if f.Name == ValuesFileName {
			info.Values = f.Data
		}
	}
	for _, t := range c.Templates {
		info.Templates = append(info.Templates, t.Name)
	}
	sort.Strings(info.Templates)
	return info, nil
}

// keepFunc decides whether a file's contents are needed; a file that is not
// kept is still listed, with nil data, so that loading sees the same names.
type keepFunc func(name string) bool

func keepAll(string) bool { return true }

// keepMetadata keeps what loading validates: the chart's and its subcharts'
// Chart.yaml, values.yaml and lock files, and subchart archives.
func keepMetadata(name string) bool {
	for {
		rest, ok := strings.CutPrefix(name, ChartsDir+"/")
		if !ok {
			break
		}
		sub, inner, found := strings.Cut(rest, "/")
		if !found {
			return path.Ext(sub) == ".tgz"
		}
		name = inner
	}
	switch name {
	case ChartfileName, ValuesFileName, LockfileName, requirementsName, requirementsLockName:
		return true
	}
	return false
}

// budget is shared by an archive and the archives nested in it, so nesting
// cannot multiply the limits.
type budget struct {
	lim       Limits
	remaining int64 // decompressed stream bytes left
	content   int64 // file contents so far
	files     int   // entries seen

	// Totals of the outermost archive, for ArchiveInfo.
	started   bool
	rootFiles int
	rootSize  int64
}

func newBudget(lim Limits) *budget {
	lim = lim.withDefaults()
	return &budget{lim: lim, remaining: lim.MaxDecompressed}
}

func (b *budget) tooLarge() error {
	return errorf(ErrTooLarge, "decompressed chart is larger than the maximum size %d", b.lim.MaxDecompressed)
}

// capReader charges every decompressed byte to the budget and fails, instead
// of reading on, once it is spent: this is the decompression bomb guard.
type capReader struct {
	r io.Reader
	b *budget
}

func (c *capReader) Read(p []byte) (int, error) {
	// Read at most one byte past the budget: enough to know it is exceeded.
	if int64(len(p)) > c.b.remaining+1 {
		p = p[:c.b.remaining+1]
	}
	n, err := c.r.Read(p)
	c.b.remaining -= int64(n)
	if c.b.remaining < 0 {
		return 0, c.b.tooLarge()
	}
	return n, err
}

// gzipMagic starts every gzip stream.
const gzipMagic = "\x1f\x8b"

func readArchive(ctx context.Context, r io.Reader, b *budget, keep keepFunc) (*Chart, error) {
	files, err := readArchiveFiles(ctx, r, b, keep)
	if err != nil {
		return nil, err
	}
	return loadFiles(ctx, files, b, keep)
}

// readArchiveFiles streams the archive and returns its files, named relative
// to the chart's top directory.
func readArchiveFiles(ctx context.Context, r io.Reader, b *budget, keep keepFunc) ([]*File, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(len(gzipMagic)); string(magic) != gzipMagic {
		return nil, errorf(ErrBadArchive, "chart archive is not gzip-compressed")
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, wrapf(ErrBadArchive, err, "chart archive is not a valid gzip stream")
	}
	defer zr.Close()

	root := !b.started
	b.started = true

	tr := tar.NewReader(&capReader{r: zr, b: b})
	var (
		files []*File
		top   string
		seen  = make(map[string]bool)
	)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, streamError(err)
		}
		if hd.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		b.files++
		if b.files > b.lim.MaxFiles {
			return nil, errorf(ErrTooLarge, "chart has more than %d files", b.lim.MaxFiles)
		}
		dirTop, rel, err := entryPath(hd)
		if err != nil {
			return nil, err
		}
		switch hd.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			if rel != "" {
				break
			}
			if dirTop == ChartfileName {
				return nil, errorf(ErrBadArchive, "chart yaml not in base directory")
			}
			return nil, errorf(ErrPathTraversal, "chart archive entry %q is outside the chart directory", hd.Name)
		default:
			return nil, irregular(hd)
		}
		if top == "" {
			top = dirTop
		} else if dirTop != top {
			return nil, errorf(ErrBadArchive, "chart archive has more than one top-level directory: %q and %q", top, dirTop)
		}
		if hd.Typeflag == tar.TypeDir {
			continue
		}
		if seen[rel] {
			return nil, errorf(ErrBadArchive, "chart archive has a duplicate entry %q", hd.Name)
		}
		seen[rel] = true
		if hd.Size > b.lim.MaxFileSize {
			return nil, errorf(ErrTooLarge, "decompressed chart file %q is larger than the maximum file size %d", hd.Name, b.lim.MaxFileSize)
		}
		// Contents are charged too, not only the stream: a sparse entry
		// expands to far more than it occupies in the stream.
		b.content += hd.Size
		if hd.Size > b.remaining || b.content > b.lim.MaxDecompressed {
			return nil, b.tooLarge()
		}
		f := &File{Name: rel}
		if keep(rel) {
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, streamError(err)
			}
			f.Data = trimBOM(data)
		}
		if root {
			b.rootFiles++
			b.rootSize += hd.Size
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, errorf(ErrNoChartYaml, "no files in chart archive")
	}
	return files, nil
}

// streamError classifies an error from reading the tar stream.
func streamError(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	return wrapf(ErrBadArchive, err, "chart archive is not a valid tar.gz")
}

func irregular(hd *tar.Header) error {
	kind := fmt.Sprintf("type %q", hd.Typeflag)
	switch hd.Typeflag {
	case tar.TypeSymlink:
		kind = fmt.Sprintf("a symlink to %q", hd.Linkname)
	case tar.TypeLink:
		kind = fmt.Sprintf("a hard link to %q", hd.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		kind = "a device"
	case tar.TypeFifo:
		kind = "a FIFO"
	}
	return errorf(ErrIrregularFile, "chart archive entry %q is %s, not a regular file", hd.Name, kind)
}

// entryPath splits an entry name into the top directory and the cleaned path
// below it ("" for the top directory itself), rejecting absolute paths and
// ".." anywhere. Backslashes count as separators: Windows tools write them.
func entryPath(hd *tar.Header) (top, rel string, err error) {
	name := strings.ReplaceAll(hd.Name, `\`, "/")
	if strings.HasPrefix(name, "/") || isDrivePath(name) {
		return "", "", errorf(ErrPathTraversal, "chart archive entry %q has an absolute path", hd.Name)
	}
	parts := strings.Split(strings.TrimSuffix(name, "/"), "/")
	for _, p := range parts {
		if p == ".." {
			return "", "", errorf(ErrPathTraversal, "chart archive entry %q references a parent directory", hd.Name)
		}
	}
	top = parts[0]
	if top == "" || top == "." {
		return "", "", errorf(ErrBadArchive, "chart archive entry %q is not inside a chart directory", hd.Name)
	}
	rel = path.Clean(strings.Join(parts[1:], "/"))
	if rel == "." {
		rel = ""
	}
	return top, rel, nil
}

// isDrivePath reports a Windows drive path such as "c:/x".
func isDrivePath(p string) bool {
	return len(p) >= 3 && p[1] == ':' && p[2] == '/' &&
		(p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z')
}
