package reqbody_test

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/chartd/chartd/internal/reqbody"
)

func TestMarksOnlyUnexpectedEOF(t *testing.T) {
	boom := errors.New("disk on fire")
	tests := []struct {
		name      string
		r         io.Reader
		truncated bool
		want      error
	}{
		{"whole body", strings.NewReader("abc"), false, nil},
		{"cut short", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(io.ErrUnexpectedEOF)), true, io.ErrUnexpectedEOF},
		{"other error", iotest.ErrReader(boom), false, boom},
		{"read deadline", iotest.ErrReader(&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}), false, os.ErrDeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := io.ReadAll(reqbody.Reader(tt.r))
			if timeout := errors.Is(tt.want, os.ErrDeadlineExceeded); errors.Is(err, reqbody.ErrTimeout) != timeout {
				t.Errorf("err %v: marked as a timeout %v, want %v", err, !timeout, timeout)
			}
			if errors.Is(err, reqbody.ErrTruncated) != tt.truncated {
				t.Errorf("err %v: truncated %v, want %v", err, !tt.truncated, tt.truncated)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err %v lost its cause %v", err, tt.want)
			}
			if tt.want == nil && err != nil {
				t.Errorf("err %v, want none", err)
			}
		})
	}
}

// A form without its closing boundary fails inside mime/multipart, below
// the body: the part's reader is what gets marked.
func TestMultipartWithoutClosingBoundary(t *testing.T) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("chart", "c.tgz")
	_, _ = w.Write([]byte("payload"))
	req, _ := http.NewRequest("POST", "/", &buf) // no mw.Close: no closing boundary
	req.Header.Set("Content-Type", mw.FormDataContentType())
	mr, err := req.MultipartReader()
	if err != nil {
		t.Fatal(err)
	}
	part, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(reqbody.Reader(part)); !errors.Is(err, reqbody.ErrTruncated) {
		t.Errorf("part read: %v, want ErrTruncated", err)
	}
}

func TestBodyKeepsClose(t *testing.T) {
	c := &closer{Reader: strings.NewReader("x")}
	b := reqbody.Body(c)
	if reqbody.Body(b) != b {
		t.Error("a marked body was wrapped twice")
	}
	_ = b.Close()
	if !c.closed {
		t.Error("Close did not reach the body")
	}
}

type closer struct {
	io.Reader
	closed bool
}

func (c *closer) Close() error { c.closed = true; return nil }
