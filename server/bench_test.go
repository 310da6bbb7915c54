package server

import (
	"bytes"
	"container/list"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chartd/chartd/internal/testutil/charttest"
)

// BenchmarkUpload measures one chart upload through the handler, with the
// real stores (SQLite, file bucket).
func BenchmarkUpload(b *testing.B) {
	ts := newTestServer(&testing.T{}, nil)
	charts := make([][]byte, b.N)
	for i := range charts {
		charts[i] = charttest.Chart(fmt.Sprintf("c%d", i%200), fmt.Sprintf("1.%d.0", i/200), nil)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/api/charts", bytes.NewReader(charts[i]))
		w := httptest.NewRecorder()
		ts.srv.ServeHTTP(w, req)
		if w.Code != 201 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkIndexGet measures a cached index.yaml GET at 1,000 versions.
func BenchmarkIndexGet(b *testing.B) {
	for _, enc := range []string{"identity", "gzip", "revalidate"} {
		b.Run(enc, func(b *testing.B) {
			ts := newTestServer(&testing.T{}, nil)
			for i := 0; i < 1000; i++ {
				req := httptest.NewRequest("POST", "/api/charts", bytes.NewReader(charttest.Chart(fmt.Sprintf("c%d", i%200), fmt.Sprintf("1.%d.0", i/200), nil)))
				ts.srv.ServeHTTP(httptest.NewRecorder(), req)
			}
			etag, want := "", 200
			if enc == "revalidate" {
				w := httptest.NewRecorder()
				ts.srv.ServeHTTP(w, httptest.NewRequest("GET", "/index.yaml", nil))
				etag, want, enc = w.Header().Get("ETag"), 304, "identity"
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("GET", "/index.yaml", nil)
				req.Header.Set("Accept-Encoding", enc)
				if etag != "" {
					req.Header.Set("If-None-Match", etag)
				}
				w := &discard{h: http.Header{}}
				ts.srv.ServeHTTP(w, req)
				if w.code != want {
					b.Fatal(w.code)
				}
			}
		})
	}
}

type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(c int)           { d.code = c }
func (d *discard) Write(p []byte) (int, error) { return io.Discard.Write(p) }

// BenchmarkIndexColdRebuild measures the first GET after start at 2,000
// versions: every entry rendered, then assembled and compressed.
func BenchmarkIndexColdRebuild(b *testing.B) {
	ts := newTestServer(&testing.T{}, nil)
	for i := 0; i < 2000; i++ {
		req := httptest.NewRequest("POST", "/api/charts", bytes.NewReader(charttest.Chart(fmt.Sprintf("c%d", i%200), fmt.Sprintf("1.%d.0", i/200), nil)))
		ts.srv.ServeHTTP(httptest.NewRecorder(), req)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Empty, as after a restart (a new cache would register its
		// metrics a second time).
		c := ts.srv.index
		c.mu.Lock()
		c.tenants, c.lru, c.used = map[string]*tenantIndex{}, list.New(), 0
		c.mu.Unlock()
		w := &discard{h: http.Header{}}
		ts.srv.ServeHTTP(w, httptest.NewRequest("GET", "/index.yaml", nil))
		if w.code != 200 {
			b.Fatal(w.code)
		}
	}
}
