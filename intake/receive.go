package intake

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/index"
	"github.com/chartd/chartd/storage"
)

// Received is a chart archive committed as a blob but referenced by no row:
// invisible until Commit, and collected by GC if Commit never comes.
type Received struct {
	target Target
	desc   storage.Descriptor
	meta   *chart.Metadata
}

// Metadata is the archive's validated Chart.yaml.
func (r *Received) Metadata() *chart.Metadata { return r.meta }

// Receive streams a chart archive into the blob store while the loader
// validates the same bytes, and applies every rule that needs neither the
// database nor a provenance file: the target's and the chart's names, the
// version, the size limit, and, when unsigned says no provenance file will
// follow, the signature policy. The blob is committed only when all of
// them passed, so a refused archive stores nothing.
func (in *Intake) Receive(ctx context.Context, t Target, archive io.Reader, unsigned bool) (*Received, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if unsigned {
		// Decidable before a byte is read, unless the server signs.
		if err := in.cfg.Policy.requireSigned(t.Tenant, true, "a provenance file"); err != nil {
			return nil, err
		}
	}
	c := in.startCheck(ctx, t)
	src := &sourceReader{r: archive, max: in.cfg.Limits.MaxArchiveSize}
	desc, err := in.cfg.Blobs.Push(ctx, "", &gatedReader{r: src, check: c})
	if err != nil {
		c.pw.CloseWithError(err)
		verr := c.wait()
		switch {
		case src.err != nil:
			// The body itself failed (too large, cut short): that is the
			// cause, whatever the loader made of the broken stream.
			return nil, src.err
		case verr != nil:
			return nil, verr
		}
		return nil, fmt.Errorf("intake: store chart: %w", err)
	}
	if err := c.wait(); err != nil {
		return nil, err
	}
	return &Received{target: t, desc: desc, meta: c.meta}, nil
}

// checkChart applies the rules on a chart's metadata that need nothing stored.
func checkChart(t Target, md *chart.Metadata) error {
	if err := CheckRepository(t.Path, md.Name); err != nil {
		return err
	}
	if err := CheckVersion(md.Version); err != nil {
		return err
	}
	// A version the index cannot render would be answered 201 and then be
	// missing from index.yaml (the index skips such a row rather than fail
	// for the whole tenant): refuse it here, with the renderer's reason.
	if _, err := index.NewEntry(&index.ChartVersion{Metadata: md}); err != nil {
		return fmt.Errorf("%w: %w", chart.ErrInvalidChart, err)
	}
	return nil
}

// archiveCheck validates an archive from a pipe while the same bytes are
// written to the blob store.
type archiveCheck struct {
	pw   *io.PipeWriter
	done chan struct{}
	meta *chart.Metadata
	err  error
}

func (in *Intake) startCheck(ctx context.Context, t Target) *archiveCheck {
	pr, pw := io.Pipe()
	c := &archiveCheck{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		info, err := chart.ReadArchiveMetadata(ctx, pr, in.cfg.Limits.Archive)
		if err == nil {
			c.meta = info.Metadata
			err = checkChart(t, info.Metadata)
		}
		if err == nil {
			// Bytes after the tar trailer must still be consumed, or the
			// writer side would block.
			_, err = io.Copy(io.Discard, pr)
		}
		c.err = err
		// With an error, the next pipe write fails with it, which aborts
		// the blob write before its commit.
		pr.CloseWithError(err)
	}()
	return c
}

func (c *archiveCheck) wait() error {
	<-c.done
	return c.err
}

// gatedReader tees what it reads into the validator and turns the final EOF
// into the validator's verdict, so the blob store commits only an accepted
// archive.
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

// sourceReader enforces the archive size limit and remembers a failure of
// the source itself, which is the reason to report.
type sourceReader struct {
	r   io.Reader
	max int64 // 0: none
	n   int64
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if s.max > 0 && int64(len(p)) > s.max-s.n+1 {
		p = p[:s.max-s.n+1]
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.max > 0 && s.n > s.max {
		s.err = fmt.Errorf("%w: the chart archive is larger than %d bytes (--max-upload-size)", chart.ErrTooLarge, s.max)
		return 0, s.err
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}
