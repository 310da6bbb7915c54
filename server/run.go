package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chartd/chartd/oci"
)

// NewWithStores builds the full server (ChartMuseum API plus the OCI
// registry) over opened stores.
func NewWithStores(cfg Config, st *Stores, log *slog.Logger) (*Server, *oci.Registry, error) {
	// The server is built first so the registry can borrow its auth.
	writes := &atomic.Int64{}
	db := writeCountingDB{DB: st.DB, writes: writes}
	s, err := New(cfg, Options{Blobs: st.Blobs, Meta: db, Log: log})
	if err != nil {
		return nil, nil, err
	}
	if !isPostgres(cfg.DatabaseDSN()) {
		s.index.localWrites = writes
	}
	reg, err := oci.New(oci.Config{
		Blobs:           st.Blobs,
		Meta:            db,
		Resolve:         s.resolveOCI,
		Authorize:       s.authorizeOCI,
		Challenge:       s.challengeOCI,
		Charts:          s.intake,
		Log:             log,
		UploadTTL:       cfg.UploadTTL,
		MaxManifestSize: 4 << 20,
		DisableDelete:   cfg.DisableDelete,
	})
	if err != nil {
		return nil, nil, err
	}
	s.handler = s.routes(reg)
	return s, reg, nil
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// resolveOCI maps an OCI repository name to (tenant path, repository): the
// first Depth segments name the tenant; with dynamic depth, all but the last.
func (s *Server) resolveOCI(name string) (string, string, error) {
	segs := strings.Split(name, "/")
	depth := s.cfg.Depth
	if s.cfg.DepthDynamic {
		depth = len(segs) - 1
	}
	if depth >= len(segs) {
		return "", "", fmt.Errorf("repository %q needs %d tenant segments and a name", name, depth)
	}
	return strings.Join(segs[:depth], "/"), strings.Join(segs[depth:], "/"), nil
}

// authorizeOCI decides registry requests by the same grants as the
// ChartMuseum API, per repository: a token opens only the repositories it
// names. (With --disable-delete the registry refuses deletes itself, 405,
// before asking.)
func (s *Server) authorizeOCI(r *http.Request, a oci.Access) error {
	res := resource{kind: resRepository, tenant: a.Tenant, repo: a.Repository}
	switch a.Action {
	case oci.ActionCatalog:
		res = resource{kind: resCatalog}
	case oci.ActionList:
		res = resource{kind: resListing, tenant: a.Tenant}
	}
	return s.auth.check(r, res, a.Action)
}

func (s *Server) challengeOCI(w http.ResponseWriter, r *http.Request, need ...oci.Access) {
	s.auth.challengeRegistry(w, r, need...)
}

// Run serves until ctx ends, with the background work chartd needs: garbage
// collection and expiry of abandoned upload sessions.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	st, err := OpenStores(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	s, reg, err := NewWithStores(cfg, st, log)
	if err != nil {
		return err
	}
	if cfg.ImportOnStart {
		n, err := s.ImportIfFresh(ctx, st)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if n > 0 {
			log.Info("adopted charts from existing storage", "versions", n)
		}
	}
	go s.background(ctx, st, reg)

	srv := newHTTPServer(&cfg, s, log)
	addr := net.JoinHostPort(cfg.ListenHost, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if cfg.TLSCert != "" {
		tc, err := tlsConfig(&cfg)
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = tc
	}
	log.Info("chartd listening", "addr", ln.Addr().String(), "tls", cfg.TLSCert != "")
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	var lost error
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	case <-st.Lost():
		lost = errors.New("another chartd took the store's lease over; stopping so as not to serve a stale view")
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(lost, srv.Shutdown(shutdown))
}

// maxHeaderWait bounds how long a client may take to send its headers,
// whatever --read-timeout says, so idle half-open connections cannot pile up.
const maxHeaderWait = 30 * time.Second

// newHTTPServer is the http.Server for h with the configured timeouts
// (ChartMuseum's --read-timeout and --write-timeout). net/http's own
// complaints (TLS handshakes, bad requests) go to log as warnings.
func newHTTPServer(cfg *Config, h http.Handler, log *slog.Logger) *http.Server {
	header := maxHeaderWait
	if cfg.ReadTimeout > 0 {
		header = min(header, cfg.ReadTimeout)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: header,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func tlsConfig(cfg *Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSCACert != "" {
		pem, err := os.ReadFile(cfg.TLSCACert)
		if err != nil {
			return nil, fmt.Errorf("tls-ca-cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("tls-ca-cert: no certificates found")
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// background runs GC and upload expiry on their intervals until ctx ends.
func (s *Server) background(ctx context.Context, st *Stores, reg *oci.Registry) {
	if s.cfg.GCInterval <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := reg.CleanUploads(ctx, now); err != nil {
				s.log.WarnContext(ctx, "upload expiry failed", "err", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "expired upload sessions", "count", n)
			}
			stats, err := st.DB.CollectGarbage(ctx, st.Blobs, s.cfg.GCGrace)
			if err != nil {
				s.log.WarnContext(ctx, "garbage collection failed", "err", err)
				continue
			}
			s.log.InfoContext(ctx, "garbage collection", "stats", stats)
		}
	}
}
