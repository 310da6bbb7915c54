package server

import (
	"bufio"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chartd/chartd/index"
)

// Rendered indexes are kept on disk, in the index directory (--index-dir),
// so that a restart renders nothing: the first GET after a start reads a
// small description of the tenant's current documents and serves their
// files. Memory holds only indexes small enough to be worth it (see
// memIndexLimit); a large tenant's documents are sent from their files,
// mapped (mappedDoc), so the heap does not grow with the number of
// versions.
//
// The directory is a cache: deleting it costs one rendering per tenant.
// Its layout:
//
//	<dir>/<render key>/<tenant>/<gen>-<writer>.yaml     index.yaml
//	                            <gen>-<writer>.yaml.gz  its gzip form
//	                            <gen>-<writer>.json     index.json
//	                            <gen>-<writer>.json.gz
//	                            <gen>-<writer>.spans    where each version's bytes are, for reuse
//	                            <gen>-<writer>.meta     the description above, written last
//
// The render key is a hash of everything but the versions that shapes the
// bytes (the renderer, the YAML library's version, the server's URLs and
// keys, and the database's identity, since generations are counted per
// database); <tenant> is a hash of the tenant's path, and <gen> the
// tenant's generation. <writer> is random per rendering, so processes
// sharing a directory never mix one's document with another's
// description; each file is written under a temporary name and renamed.
//
// Generations count up from the database's own identity, so a database
// restored from a backup, which reuses generation numbers, must be given
// an empty index directory (the deployment guide says so).

// indexFormat is bumped whenever the rendering changes in a way the render
// key does not see, so that kept documents are rendered again.
const indexFormat = 2

// memIndexLimit is the largest tenant rendering (all four documents) kept
// in memory; larger ones are sent from their mapped files. Below it, a
// rendering costs no mapping; above it, the heap is spared.
const memIndexLimit = 4 << 20

// indexForms are the four documents of one rendering, in the order of
// renderedIndex.docs.
var indexForms = [4]string{"yaml", "yaml.gz", "json", "json.gz"}

const (
	formYAML = iota
	formYAMLGz
	formJSON
	formJSONGz
)

// indexDoc is one document of a rendering: in memory, or in its file.
type indexDoc struct {
	path string // the file that holds it ("" for an index made in memory only)
	size int64
	mem  []byte // its bytes, when kept in memory
	// mapped is the file mapped on its first request, for documents not
	// kept in memory (nil for those that are).
	mapped *mappedDoc
}

// mappedDoc is a document's file, mapped read-only once and shared by the
// requests that send it. Writing from the mapping costs what writing from
// memory does (one write per response); sendfile from the file cost a
// third more CPU per request on the machines measured. The pages are the
// page cache's, reclaimable by the kernel, and not the heap's. The mapping
// is released when the last rendering and request using it are gone
// (runtime.AddCleanup), so a mapping is never unmapped under a response.
type mappedDoc struct {
	once sync.Once
	b    []byte
	err  error
}

// bytes maps the file at path on first use.
func (m *mappedDoc) bytes(path string, size int64) ([]byte, error) {
	m.once.Do(func() {
		b, unmap, err := mapFile(path)
		switch {
		case err != nil:
			m.err = err
		case int64(len(b)) != size:
			unmap()
			m.err = fmt.Errorf("%w: %s holds %d bytes, want %d", errIndexDir, path, len(b), size)
		default:
			m.b = b
			runtime.AddCleanup(m, func(unmap func()) { unmap() }, unmap)
		}
	})
	return m.b, m.err
}

// indexMeta is the .meta file.
type indexMeta struct {
	Gen      int64     `json:"gen"`
	Modified time.Time `json:"modified"`
	ETagYAML string    `json:"etagYAML"`
	ETagJSON string    `json:"etagJSON"`
	Writer   string    `json:"writer"`
	Sizes    [4]int64  `json:"sizes"`
	Entries  int       `json:"entries"`
}

// span is where one version's bytes are in a rendering's files (see
// indexspans.go).
type span struct {
	Name, Version, Digest string
	Created               int64    // Unix nanoseconds
	YAML, JSON            [2]int64 // offset, length
}

func (s span) key() fragKey {
	return fragKey{name: s.Name, version: s.Version, digest: s.Digest, created: s.Created}
}

// renderKey names what, besides the versions, decides the bytes of a
// rendering. Public keys and URLs come from the configuration; the YAML
// library's version from the build.
func renderKey(dbID, chartURL, contextPath string, publicKeys []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "format %d\ndb %q\nchart-url %q\ncontext-path %q\n", indexFormat, dbID, chartURL, contextPath)
	for _, k := range publicKeys {
		fmt.Fprintf(h, "key %q\n", k)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if strings.Contains(m.Path, "yaml") {
				fmt.Fprintf(h, "dep %s %s\n", m.Path, m.Version)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// tenantDir is the directory of repo's renderings under dir.
func (c *indexCache) tenantDir(dir, repo string) string {
	sum := sha256.Sum256([]byte(repo))
	return filepath.Join(dir, hex.EncodeToString(sum[:12]))
}

// loadMeta finds a complete rendering of gen in dir: its description,
// with every file present at the size it gives. ok is false when there is
// none.
func loadMeta(dir string, gen int64) (m indexMeta, ok bool) {
	if dir == "" {
		return indexMeta{}, false
	}
	names, _ := filepath.Glob(filepath.Join(dir, strconv.FormatInt(gen, 10)+"-*.meta"))
	for _, name := range names {
		if m, err := readMeta(name); err == nil && m.Gen == gen && m.complete(dir) {
			return m, true
		}
	}
	return indexMeta{}, false
}

func readMeta(name string) (indexMeta, error) {
	var m indexMeta
	b, err := os.ReadFile(name)
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(b, &m)
	return m, err
}

// complete reports whether every file of m is there, at its size: a
// crash before the description was written leaves no description, and
// a file cut short is not served.
func (m indexMeta) complete(dir string) bool {
	for i := range indexForms {
		fi, err := os.Stat(m.file(dir, indexForms[i]))
		if err != nil || fi.Size() != m.Sizes[i] {
			return false
		}
	}
	return true
}

func (m indexMeta) file(dir, ext string) string {
	return filepath.Join(dir, fmt.Sprintf("%d-%s.%s", m.Gen, m.Writer, ext))
}

// newestBefore returns the description of the newest complete rendering
// in dir older than gen (any writer's), whose versions a rebuild may reuse.
func newestBefore(dir string, gen int64) (indexMeta, bool) {
	names, _ := filepath.Glob(filepath.Join(dir, "*.meta"))
	var best indexMeta
	found := false
	for _, name := range names {
		m, err := readMeta(name)
		if err != nil || m.Gen >= gen || (found && m.Gen <= best.Gen) || !m.complete(dir) {
			continue
		}
		best, found = m, true
	}
	return best, found
}

// newIndexGzip is the compressor of every index's gzip form. BestSpeed: an
// index is rebuilt once per generation, and a slow level would put tens of
// milliseconds on the first GET after every upload of a large tenant for
// a body barely smaller (the versions' digests do not compress).
func newIndexGzip(w io.Writer) *gzip.Writer {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level: no error
	return zw
}

// docWriter writes one document to a temporary file in its directory,
// hashing it and writing its gzip form beside it.
type docWriter struct {
	f, gzf *os.File
	bw     *bufio.Writer
	gzbw   *bufio.Writer
	zw     *gzip.Writer
	sum    hash.Hash
	w      io.Writer
}

func newDocWriter(dir string) (*docWriter, error) {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return nil, err
	}
	gzf, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	d := &docWriter{f: f, gzf: gzf, bw: bufio.NewWriterSize(f, 1<<16), gzbw: bufio.NewWriterSize(gzf, 1<<16), sum: sha256.New()}
	d.zw = newIndexGzip(d.gzbw)
	d.w = io.MultiWriter(d.bw, d.sum, d.zw)
	return d, nil
}

// finish flushes both files and renames them to base and base.gz. It
// returns the two sizes and the document's ETag.
//
// Nothing is synced: the directory is a cache, a process crash loses
// nothing the page cache holds, and what a machine crash can leave (files
// cut short or empty) is caught by the sizes every load checks, and by
// the hashes checked before a document is kept in memory.
func (d *docWriter) finish(base string) (size, gzSize int64, tag string, err error) {
	err = errors.Join(d.bw.Flush(), d.zw.Close(), d.gzbw.Flush())
	if err == nil {
		size, err = d.f.Seek(0, io.SeekCurrent)
	}
	if err == nil {
		gzSize, err = d.gzf.Seek(0, io.SeekCurrent)
	}
	err = errors.Join(err, d.f.Close(), d.gzf.Close())
	if err == nil {
		err = os.Rename(d.f.Name(), base)
	}
	if err == nil {
		err = os.Rename(d.gzf.Name(), base+".gz")
	}
	if err != nil {
		d.abort()
		return 0, 0, "", err
	}
	return size, gzSize, etagOf(d.sum.Sum(nil)), nil
}

// abort removes what is left of the temporary files.
func (d *docWriter) abort() {
	d.f.Close()
	d.gzf.Close()
	os.Remove(d.f.Name())
	os.Remove(d.gzf.Name())
}

// writeFileAtomic writes name through a temporary file renamed into place,
// so that a reader never sees it half written.
func writeFileAtomic(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// newWriterID names one rendering's files.
func newWriterID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// staleTemp is how old a temporary file must be before a cleanup takes it
// for a crashed writer's: a rendering in progress is far younger.
const staleTemp = time.Hour

// pruneTenantDir removes the renderings in dir older than keep's, the
// other renderings of its generation (a damaged one, or another process's:
// that process reads keep's on its next miss), and temporary files a crash
// left. Open files stay readable until closed, so requests being served an
// older rendering finish with it.
func pruneTenantDir(dir string, keep indexMeta) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
				os.Remove(filepath.Join(dir, name))
			}
			continue
		}
		g, rest, ok := strings.Cut(name, "-")
		gen, err := strconv.ParseInt(g, 10, 64)
		writer, _, _ := strings.Cut(rest, ".")
		if ok && err == nil && (gen < keep.Gen || gen == keep.Gen && writer != keep.Writer) {
			os.Remove(filepath.Join(dir, name))
		}
	}
}

// pruneRenderKeys removes the directories of other render keys (an older
// configuration or build) that nothing has written to for a day: a
// replica of another version sharing the directory keeps its own.
func pruneRenderKeys(root, keep string) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || e.Name() == keep {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// errIndexDir wraps a failure to use the index directory.
var errIndexDir = errors.New("index directory")

// asDirError marks a file system failure (a write, a rename) as
// errIndexDir, leaving any other error, such as a rendering's, as it is.
func asDirError(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	if err != nil && !errors.Is(err, errIndexDir) && (errors.As(err, &pe) || errors.As(err, &le)) {
		return fmt.Errorf("%w: %w", errIndexDir, err)
	}
	return err
}

// ensureDir makes dir, reporting a failure as errIndexDir.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %w", errIndexDir, err)
	}
	return nil
}

// spanEntry is the index entry of a previous rendering's span over its two
// documents (mapped or read), if the span lies within them.
func spanEntry(s span, y, j []byte) (index.Entry, bool) {
	yo, yl, jo, jl := s.YAML[0], s.YAML[1], s.JSON[0], s.JSON[1]
	if yo < 0 || yl <= 0 || yo+yl > int64(len(y)) || jo < 0 || jl <= 0 || jo+jl > int64(len(j)) {
		return index.Entry{}, false
	}
	return index.Entry{Name: s.Name, Version: s.Version, YAML: y[yo : yo+yl : yo+yl], JSON: j[jo : jo+jl : jo+jl]}, true
}
