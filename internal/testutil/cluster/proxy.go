package cluster

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
)

// Proxy forwards to the apiserver and records every request, to count a
// client's requests and see their order.
type Proxy struct {
	URL string
	srv *httptest.Server
	mu  sync.Mutex
	log []string // "METHOD path"
}

// NewProxy serves a TLS proxy to the apiserver of cfg until the test ends.
func NewProxy(tb testing.TB, cfg *rest.Config) *Proxy {
	tb.Helper()
	target, err := url.Parse(cfg.Host)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	rp.FlushInterval = -1 // watches stream
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.log = append(p.log, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	p.srv.TLS = &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
	p.srv.EnableHTTP2 = true
	p.srv.StartTLS()
	p.URL = p.srv.URL
	tb.Cleanup(p.srv.Close)
	return p
}

// Requests returns the requests recorded so far.
func (p *Proxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// Count is the number of requests recorded so far.
func (p *Proxy) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

// Kubeconfig writes a kubeconfig for the administrator through the proxy
// into dir.
func (p *Proxy) Kubeconfig(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "kubeconfig-proxy")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster: {server: %s, insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: %s}
contexts:
- name: proxy
  context: {cluster: proxy, user: admin}
current-context: proxy
`, p.URL, AdminToken)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
