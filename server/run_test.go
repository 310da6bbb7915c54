package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// addrHandler hands the addresses Run announces to the test, so it needs
// neither a fixed port nor polling.
type addrHandler struct {
	slog.Handler
	addrs chan<- [2]string // message, addr
}

func (h addrHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasSuffix(r.Message, "listening") {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "addr" {
				h.addrs <- [2]string{r.Message, a.Value.String()}
			}
			return true
		})
	}
	return nil
}

func (h addrHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h addrHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h addrHandler) WithGroup(string) slog.Handler            { return h }

// TestRunMetricsListenerAndShutdown runs chartd as main does: /ready on the
// main port, /metrics only on --metrics-listen with the dedup figures, and
// a clean return when ctx ends.
func TestRunMetricsListenerAndShutdown(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.ListenHost, cfg.Port = "127.0.0.1", 0
	cfg.EnableMetrics, cfg.MetricsListen = true, "127.0.0.1:0"
	cfg.GCInterval = 0
	addrs := make(chan [2]string, 4)
	log := slog.New(addrHandler{Handler: slog.DiscardHandler, addrs: addrs})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg, log) }()

	got := map[string]string{}
	for len(got) < 2 {
		select {
		case a := <-addrs:
			got[a[0]] = a[1]
		case err := <-errc:
			t.Fatalf("Run returned before listening: %v", err)
		}
	}
	main, metrics := "http://"+got["chartd listening"], "http://"+got["chartd metrics listening"]
	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get(main + "/ready"); code != http.StatusOK {
		t.Errorf("/ready: %d %s", code, body)
	}
	if code, _ := get(main + "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the main port with --metrics-listen: %d, want 404", code)
	}
	if code, body := get(metrics + "/metrics"); code != http.StatusOK || !strings.Contains(body, "chartd_storage_dedup_ratio 1") {
		t.Errorf("/metrics on the metrics listener: %d, want the dedup ratio:\n%s", code, body)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run after ctx ended: %v", err)
	}
	for _, u := range []string{main + "/health", metrics + "/metrics"} {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			t.Errorf("%s still answers after Run returned", u)
		}
	}
}
