package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// connWriter stands for net/http's response writer: it can take a body
// from an io.Reader (sendfile, for a file) and flush.
type connWriter struct {
	h       http.Header
	code    int
	body    bytes.Buffer
	readers []io.Reader // what ReadFrom was handed
	flushes int
}

func (c *connWriter) Header() http.Header         { return c.h }
func (c *connWriter) WriteHeader(code int)        { c.code = code }
func (c *connWriter) Write(p []byte) (int, error) { return c.body.Write(p) }
func (c *connWriter) Flush()                      { c.flushes++ }
func (c *connWriter) ReadFrom(r io.Reader) (int64, error) {
	c.readers = append(c.readers, r)
	return c.body.ReadFrom(r)
}

// sendable reports whether net.TCPConn.ReadFrom can sendfile r: a file
// (or os.File's wrapper, through io.Copy), alone or in an io.LimitedReader.
func sendable(r io.Reader) bool {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	_, ok := r.(syscall.Conn)
	return ok
}

// The middleware's writer keeps what the connection can do: a file served
// with http.ServeContent reaches the connection's ReadFrom as the file
// (sendfile), a flush through http.ResponseController reaches it, and the
// access line counts the bytes either way.
func TestStatusWriterKeepsConnAbilities(t *testing.T) {
	content := bytes.Repeat([]byte("apiVersion: v1\n"), 1000)
	path := filepath.Join(t.TempDir(), "index.yaml")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		handler   func(w http.ResponseWriter, r *http.Request)
		wantFile  bool
		wantFlush int
		wantBytes int
	}{
		{"ServeContent of a file", func(w http.ResponseWriter, r *http.Request) {
			f, err := os.Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			http.ServeContent(w, r, "index.yaml", time.Unix(0, 0), f)
		}, true, 0, len(content)},
		{"io.Copy of a file", func(w http.ResponseWriter, r *http.Request) {
			f, err := os.Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			_, _ = io.Copy(w, f)
		}, true, 0, len(content)},
		{"flush through ResponseController", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(content[:10])
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Error(err)
			}
		}, false, 1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, logs := jsonServer(t, nil)
			conn := &connWriter{h: http.Header{}}
			ts.srv.observe(http.HandlerFunc(tt.handler)).ServeHTTP(conn, httptest.NewRequest("GET", "/index.yaml", nil))
			if !bytes.Equal(conn.body.Bytes(), content[:tt.wantBytes]) {
				t.Errorf("body: %d bytes, want %d", conn.body.Len(), tt.wantBytes)
			}
			gotFile := len(conn.readers) == 1 && sendable(conn.readers[0])
			if gotFile != tt.wantFile {
				t.Errorf("connection's ReadFrom got %T, want the file: %v", conn.readers, tt.wantFile)
			}
			if conn.flushes != tt.wantFlush {
				t.Errorf("%d flushes reached the connection, want %d", conn.flushes, tt.wantFlush)
			}
			recs := records(t, logs.String(), "request served")
			if len(recs) != 1 || recs[0]["bytes"] != float64(tt.wantBytes) || recs[0]["status"] != float64(http.StatusOK) {
				t.Errorf("access lines %v, want one of status 200 with %d bytes", recs, tt.wantBytes)
			}
		})
	}
}
