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
// Chart.yaml, entries must be regular files or directories inside it, each
// naming its own file (see entryPath), nothing but padding may follow the
// tar archive, and the limits hold for it and every subchart archive in
// charts/. r is read to its end, so its every byte has been checked.
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

	stream := &capReader{r: zr, b: b}
	tr := tar.NewReader(stream)
	var (
		files   []*File
		top     string
		entries = newEntrySet()
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
		isDir := hd.Typeflag == tar.TypeDir
		dirTop, rel, err := entryPath(hd, isDir)
		if err != nil {
			return nil, err
		}
		switch hd.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			if !regularMode(hd) {
				return nil, errorf(ErrIrregularFile, "chart archive entry %q is a regular file whose mode %o says otherwise", hd.Name, hd.Mode)
			}
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
		if isDir {
			if err := entries.addDir(rel, hd.Name); err != nil {
				return nil, err
			}
			continue
		}
		if err := entries.addFile(rel, hd.Name); err != nil {
			return nil, err
		}
		if hd.Size > b.lim.MaxFileSize {
			return nil, errorf(ErrTooLarge, "decompressed chart file %q is larger than the maximum file size %d", hd.Name, b.lim.MaxFileSize)
		}
		// Contents are charged too, not only the stream: a sparse entry
		// expands to far more than it occupies in the stream.
		b.content += hd.Size
		if hd.Size > b.remaining || b.content > b.lim.MaxDecompressed {
			return nil, b.tooLarge()
		}
		f := &File{Name: rel, ModTime: hd.ModTime}
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
	if err := checkTrailer(stream); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errorf(ErrNoChartYaml, "no files in chart archive")
	}
	return files, nil
}

// maxTarPadding bounds the zeros a tar writer may leave after the
// end-of-archive marker. Tools pad the archive to their record size (GNU tar
// and bsdtar to 10 KiB by default, Go's writer not at all); a megabyte is a
// blocking factor of 2048, more than any tool is configured with.
const maxTarPadding = 1 << 20

// checkTrailer reads the rest of the decompressed stream after the tar
// reader's end-of-archive marker: every later gzip member included, since
// gzip.Reader reads concatenated members as one stream. It must hold
// nothing but padding. Anything else is stored with the chart and served,
// although no loader reads it: it would let a small upload be served as
// gigabytes of inflated data, or carry bytes that only some tools see.
// Reading to the end also makes gzip check the stream's CRC and length, and
// refuse bytes after the last member that are not gzip.
func checkTrailer(stream io.Reader) error {
	buf := make([]byte, 32<<10)
	var padding int64
	for {
		n, err := stream.Read(buf)
		for _, c := range buf[:n] {
			if c != 0 {
				return errorf(ErrBadArchive, "chart archive has data after the end of the tar archive")
			}
		}
		padding += int64(n)
		if padding > maxTarPadding {
			return errorf(ErrBadArchive, "chart archive has more than %d bytes of padding after the end of the tar archive", maxTarPadding)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			return wrapf(ErrBadArchive, err, "chart archive has an invalid gzip stream after the end of the tar archive")
		}
	}
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
