// Package reqbody marks a request body that ended early or arrived too
// slowly, so that the error tables answer a client's cut-short or stalled
// upload with a 4xx while every other unexpected EOF or deadline stays a
// server fault: a PostgreSQL connection or an S3 response cut off
// mid-message is io.ErrUnexpectedEOF too, and must not be blamed on the
// client (nor hidden from the error log).
package reqbody

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTruncated is a request body that ended before its Content-Length (or
// its last chunk), or a multipart form without its closing boundary. It is
// reported together with io.ErrUnexpectedEOF, so errors.Is finds both.
var ErrTruncated = errors.New("request body ended early")

// ErrTimeout is a request body that did not arrive within the server's
// read timeout (--read-timeout). It is reported together with
// os.ErrDeadlineExceeded.
var ErrTimeout = errors.New("request body did not arrive within the read timeout")

// Reader returns r with the io.ErrUnexpectedEOF that net/http's body and
// mime/multipart's parts return for a cut-short request marked as
// ErrTruncated, and a read deadline that expired marked as ErrTimeout.
func Reader(r io.Reader) io.Reader { return reader{r} }

// Body is Reader for an http.Request's body: Close still reaches rc.
func Body(rc io.ReadCloser) io.ReadCloser {
	if _, ok := rc.(body); ok {
		return rc
	}
	return body{reader{rc}, rc}
}

type reader struct{ r io.Reader }

func (r reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	return n, mark(err)
}

type body struct {
	reader
	io.Closer
}

func mark(err error) error {
	switch {
	case err == nil || err == io.EOF || errors.Is(err, ErrTruncated) || errors.Is(err, ErrTimeout):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %w", ErrTruncated, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}
