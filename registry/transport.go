package registry

import (
	"crypto/tls"
	"errors"
	"net/http"
	"sync/atomic"
)

// fallbackTransport retries over plain HTTP when an https request reaches a
// plain-HTTP server (the TLS record header reads "HTTP/"). Helm does the same,
// so `helm push` to a local registry works without --plain-http.
type fallbackTransport struct {
	base  http.RoundTripper
	plain atomic.Bool
}

func (t *fallbackTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.plain.Load() && req.URL.Scheme == "https" {
		req = req.Clone(req.Context())
		req.URL.Scheme = "http"
		return t.base.RoundTrip(req)
	}
	resp, err := t.base.RoundTrip(req)
	var rh tls.RecordHeaderError
	if err != nil && req.URL.Scheme == "https" && errors.As(err, &rh) && string(rh.RecordHeader[:]) == "HTTP/" {
		t.plain.Store(true)
		req = req.Clone(req.Context())
		req.URL.Scheme = "http"
		return t.base.RoundTrip(req)
	}
	return resp, err
}
