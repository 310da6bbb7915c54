package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/chartd/chartd/intake"
	"github.com/chartd/chartd/internal/reqbody"
	"github.com/chartd/chartd/storage"
)

// maxProvSize caps a .prov file: real ones are a few KiB.
const maxProvSize = intake.MaxProvSize

// target is where a chart sent to rt goes.
func (rt Route) target() intake.Target { return intake.Target{Tenant: rt.Tenant, Path: rt.Repo} }

// uploadForm is what an upload request carried.
type uploadForm struct {
	chart *intake.Received
	prov  []byte
	// multipart changes ChartMuseum's conflict message.
	multipart bool
}

// readUpload reads a raw .tgz body or a multipart form with the chart and
// prov fields. The chart streams into the intake; the small .prov is
// buffered.
func (s *Server) readUpload(ctx context.Context, r *http.Request, rt Route) (*uploadForm, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		// A raw body is the whole upload: no provenance file will follow.
		rc, err := s.intake.Receive(ctx, rt.target(), r.Body, true)
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
			rc, err := s.intake.Receive(ctx, rt.target(), body, false)
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
			_, _ = io.Copy(io.Discard, part)
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

// forceAllowed reports whether the request asks to replace an existing
// version with ?force and the operator allows that (ChartMuseum honours
// ?force by default; chartd keeps versions immutable unless asked).
// --allow-overwrite is the intake's own rule, for every protocol.
func (s *Server) forceAllowed(r *http.Request) bool {
	_, force := r.URL.Query()["force"]
	return force && s.cfg.AllowForceOverwrite && !s.cfg.DisableForceOverwrite
}

// handleUpload is POST /api/<repo>/charts.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, rt Route) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadSize)
	form, err := s.readUpload(ctx, r, rt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if form.chart == nil {
		// A prov-only multipart upload attaches to an existing version.
		if err := s.intake.AttachProv(ctx, rt.target(), form.prov, s.forceAllowed(r)); err != nil {
			s.writeError(w, r, provError(err))
			return
		}
		writeJSON(w, http.StatusCreated, map[string]bool{"saved": true})
		return
	}
	md := form.chart.Metadata()
	noteChart(ctx, md.Name, md.Version)
	_, err = s.intake.Commit(ctx, form.chart, form.prov, s.forceAllowed(r))
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

// provError keeps ChartMuseum's answer to a provenance file for a version
// that already has one.
func provError(err error) error {
	if errors.Is(err, storage.ErrExists) {
		return withStatus(http.StatusConflict, "file already exists", err)
	}
	return err
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
