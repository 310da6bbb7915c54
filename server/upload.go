package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/internal/reqbody"
	"github.com/chartd/chartd/storage"
)

// maxChartName is the longest chart name chartd accepts.
const maxChartName = 128

// maxProvSize caps a .prov file: real ones are a few KiB.
const maxProvSize = 1 << 20

// received is a chart whose archive is committed as a blob but not yet
// referenced by any row: until the row is written it is invisible, and GC
// reclaims it if the request dies.
type received struct {
	desc storage.Descriptor
	info *chart.ArchiveInfo
}

// archiveCheck validates an archive from a pipe while the same bytes are
// being written to the blob store.
type archiveCheck struct {
	pw   *io.PipeWriter
	done chan struct{}
	info *chart.ArchiveInfo
	err  error
}

func (s *Server) startCheck(ctx context.Context) *archiveCheck {
	pr, pw := io.Pipe()
	c := &archiveCheck{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.info, c.err = chart.ReadArchiveMetadata(ctx, pr, s.limits)
		if c.err == nil {
			// Bytes after the tar trailer must still be consumed, or the
			// writer side would block.
			_, c.err = io.Copy(io.Discard, pr)
		}
		// With an error, the next pipe write fails with it, which aborts
		// the blob write.
		pr.CloseWithError(c.err)
	}()
	return c
}

func (c *archiveCheck) wait() error {
	<-c.done
	return c.err
}

// receiveChart streams an archive into the blob store while the validator
// reads the same bytes. The blob is committed only when the validator has
// accepted the whole archive, so a bad chart stores nothing.
func (s *Server) receiveChart(ctx context.Context, body io.Reader) (*received, error) {
	c := s.startCheck(ctx)
	desc, err := s.blobs.Push(ctx, "", &gatedReader{r: body, check: c})
	if err != nil {
		c.pw.CloseWithError(err)
		if verr := c.wait(); verr != nil {
			return nil, verr // the validator's reason is the one the client needs
		}
		return nil, fmt.Errorf("store chart: %w", err)
	}
	if err := c.wait(); err != nil {
		return nil, err
	}
	return &received{desc: desc, info: c.info}, nil
}

// gatedReader tees what it reads into the validator and turns the final EOF
// into the validator's verdict.
type gatedReader struct {
	r     io.Reader
	check *archiveCheck
}

func (g *gatedReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if n > 0 {
		if _, werr := g.check.pw.Write(p[:n]); werr != nil {
			return 0, werr
		}
	}
	switch {
	case err == io.EOF:
		g.check.pw.Close()
		if verr := g.check.wait(); verr != nil {
			return n, verr
		}
	case err != nil:
		g.check.pw.CloseWithError(err)
	}
	return n, err
}

// uploadForm is what an upload request carried.
type uploadForm struct {
	chart *received
	prov  []byte
	// multipart changes ChartMuseum's conflict message.
	multipart bool
}

// readUpload reads a raw .tgz body or a multipart form with the chart and
// prov fields. The chart streams; the small .prov is buffered.
func (s *Server) readUpload(ctx context.Context, r *http.Request) (*uploadForm, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		rc, err := s.receiveChart(ctx, r.Body)
		if err != nil {
			return nil, err
		}
		return &uploadForm{chart: rc}, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "malformed multipart form: %v", err)
	}
	f := &uploadForm{multipart: true}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, err
			}
			return nil, errorf(http.StatusBadRequest, "malformed multipart form: %v", err)
		}
		// A form cut short fails inside mime/multipart, below the body's
		// own marking: the part is what says so.
		body := reqbody.Reader(part)
		switch part.FormName() {
		case s.cfg.ChartPostFormField:
			if f.chart != nil {
				return nil, errorf(http.StatusBadRequest, "more than one %q field", s.cfg.ChartPostFormField)
			}
			rc, err := s.receiveChart(ctx, body)
			if err != nil {
				return nil, err
			}
			f.chart = rc
		case s.cfg.ProvPostFormField:
			if f.prov != nil {
				return nil, errorf(http.StatusBadRequest, "more than one %q field", s.cfg.ProvPostFormField)
			}
			b, err := readCapped(body, maxProvSize)
			if err != nil {
				return nil, err
			}
			f.prov = b
		default:
			// ChartMuseum ignores other fields; so do we, but we do not
			// buffer them.
			_, _ = io.Copy(io.Discard, body)
		}
	}
	if f.chart == nil && f.prov == nil {
		return nil, errorf(http.StatusBadRequest, "no package or provenance file found in form fields %s and %s",
			s.cfg.ChartPostFormField, s.cfg.ProvPostFormField)
	}
	return f, nil
}

func readCapped(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errorf(http.StatusRequestEntityTooLarge, "provenance file is larger than %d bytes", limit)
	}
	return buf.Bytes(), nil
}

// overwriteAllowed applies chartd's deliberate rule: versions are immutable
// unless the operator allowed overwrites (ChartMuseum honours ?force by default).
func (s *Server) overwriteAllowed(r *http.Request) bool {
	if s.cfg.AllowOverwrite {
		return true
	}
	_, force := r.URL.Query()["force"]
	return force && s.cfg.AllowForceOverwrite && !s.cfg.DisableForceOverwrite
}

// handleUpload is POST /api/<repo>/charts.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, rt Route) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadSize)
	form, err := s.readUpload(ctx, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if form.chart == nil {
		// A prov-only multipart upload attaches to an existing version.
		if err := s.attachProv(ctx, rt.Repo, form.prov, s.overwriteAllowed(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]bool{"saved": true})
		return
	}
	err = s.saveChart(ctx, rt.Repo, form.chart, form.prov, saveOptions{overwrite: s.overwriteAllowed(r)})
	if errors.Is(err, storage.ErrExists) {
		msg := "file already exists"
		if form.multipart {
			msg = "chart already exists"
		}
		s.writeError(w, r, withStatus(http.StatusConflict, msg, err))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.uploads.Inc()
	writeJSON(w, http.StatusCreated, map[string]bool{"saved": true})
}

type saveOptions struct {
	overwrite bool
	// adopt skips the signature policy: charts adopted from an existing
	// ChartMuseum store are kept exactly as they were.
	adopt bool
}

// saveChart applies the signature policy, writes the OCI face and commits
// the version row, all-or-nothing.
func (s *Server) saveChart(ctx context.Context, repo string, rc *received, prov []byte, opt saveOptions) error {
	md := rc.info.Metadata
	noteChart(ctx, md.Name, md.Version)
	if len(md.Name) > maxChartName {
		// Longer names change how YAML lays out the index (complex keys),
		// so they cannot be served incrementally, and no real chart needs one.
		return errorf(http.StatusBadRequest, "chart name is longer than %d bytes", maxChartName)
	}
	tenant, err := s.meta.EnsureTenant(ctx, repo)
	if err != nil {
		return err
	}
	cv := storage.ChartVersion{
		TenantID: tenant.ID,
		Name:     md.Name,
		Version:  md.Version,
		Digest:   rc.desc.Digest,
		Size:     rc.desc.Size,
		Created:  time.Now().UTC(),
	}
	if cv.Metadata, err = marshalMetadata(md); err != nil {
		return err
	}
	if !opt.adopt {
		if prov, err = s.applyPolicy(ctx, repo, &cv, md, prov); err != nil {
			return err
		}
	}
	if prov != nil {
		d, err := s.blobs.Push(ctx, digest.FromBytes(prov), bytes.NewReader(prov))
		if err != nil {
			return fmt.Errorf("store provenance: %w", err)
		}
		cv.ProvDigest, cv.ProvSize = d.Digest, d.Size
	}
	if err := s.writeOCIFace(ctx, &cv, md); err != nil {
		return err
	}
	return s.meta.PutChartVersion(ctx, cv, storage.PutOptions{Overwrite: opt.overwrite, MaxObjects: s.cfg.MaxStorageObjects})
}

// chartFileName is ChartMuseum's object name for a version.
func chartFileName(name, version string) string { return name + "-" + version + ".tgz" }

// splitChartFile finds the (name, version) candidates of a file name such as
// "my-chart-1.2.3-rc.1.tgz": every '-' may start the version.
func splitChartFile(file string) (candidates [][2]string, prov bool, ok bool) {
	base, found := strings.CutSuffix(file, ".tgz.prov")
	if found {
		prov = true
	} else if base, found = strings.CutSuffix(file, ".tgz"); !found {
		return nil, false, false
	}
	for i := len(base) - 1; i > 0; i-- {
		if base[i] == '-' && i+1 < len(base) {
			candidates = append(candidates, [2]string{base[:i], base[i+1:]})
		}
	}
	return candidates, prov, true
}
