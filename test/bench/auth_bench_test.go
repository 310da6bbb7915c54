package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/chartd/chartd/internal/testutil/procs"
)

// startAuthChartd runs chartd with three users whose passwords are checked
// three ways: bcrypt at cost 10, bcrypt at htpasswd -B's cost 5, and plain
// text. CHARTD_BENCH_BIN names another chartd binary to measure instead
// (an earlier build, for a before-and-after).
func startAuthChartd(b *testing.B) *procs.Proc {
	b.Helper()
	bin := os.Getenv("CHARTD_BENCH_BIN")
	if bin == "" {
		root, _ := filepath.Abs("../..")
		var err error
		if bin, err = procs.Build(root, "./cmd/chartd", b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
	h10, _ := bcrypt.GenerateFromPassword([]byte("secret"), 10)
	h5, _ := bcrypt.GenerateFromPassword([]byte("secret"), 5)
	cfg := fmt.Sprintf(`users:
- name: cost10
  passwordHash: %q
  grants: [{tenant: "*", actions: [pull]}]
- name: cost5
  passwordHash: %q
  grants: [{tenant: "*", actions: [pull]}]
- name: plain
  password: secret
  grants: [{tenant: "*", actions: [pull]}]
`, h10, h5)
	path := filepath.Join(b.TempDir(), "chartd.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	return procs.StartChartd(b, bin, b.TempDir(), "--gc-interval=0", "--config="+path)
}

func quantile(d []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*q))]
}

// BenchmarkFailedLoginTiming is the user-enumeration check: a wrong password
// for a user hashed at cost 10, one hashed at cost 5, a plain-text user and
// an unknown name, interleaved, must take the same time. Fails when any
// median is more than 5% from the unknown name's. Each attempt comes from
// a loopback address of its own, as a distributed guesser's would, so the
// throttle (which admits addresses that never failed) stays out of it.
func BenchmarkFailedLoginTiming(b *testing.B) {
	cd := startAuthChartd(b)
	kinds := []string{"nobody", "cost10", "cost5", "plain"}
	addr := 0
	const rounds = 150
	for i := 0; i < b.N; i++ {
		lat := map[string][]time.Duration{}
		for r := 0; r < rounds; r++ {
			for _, k := range rand.Perm(len(kinds)) {
				name := kinds[k]
				addr++
				local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(2+addr/250), byte(1+addr%250))}
				client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: local}).DialContext}}
				req, _ := http.NewRequest("GET", cd.URL+"/v2/token?service=chartd&scope=repository:x/y:pull", nil)
				req.SetBasicAuth(name, "wrong")
				start := time.Now()
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				client.CloseIdleConnections()
				lat[name] = append(lat[name], time.Since(start))
				if res.StatusCode != http.StatusUnauthorized {
					b.Fatalf("%s: %d, want 401", name, res.StatusCode)
				}
			}
		}
		base := median(lat["nobody"])
		for _, name := range kinds {
			m := median(lat[name])
			ratio := float64(m) / float64(base)
			b.Logf("failed login, %-6s: median %v, ratio to an unknown name %.3f", name, m.Round(10*time.Microsecond), ratio)
			b.ReportMetric(ratio, name+"/unknown")
			if ratio > 1.05 || ratio < 0.95 {
				b.Errorf("%s: a failed login's median is %.3f× an unknown name's; the name can be told apart", name, ratio)
			}
		}
	}
}

// BenchmarkHealthUnderLoginFlood: 16 clients, each from its own loopback
// address, send logins with random user names as fast as they are
// answered; /health's p99, probed at a steady pace, must stay within 2× of
// its idle p99. A round is an idle window then a flood window; the rounds
// (CHARTD_BENCH_ROUNDS, default 3) are independent replicates, each from
// fresh client addresses the login guard has not seen, and the median of
// their ratios is judged: a single p99 of a few milliseconds on a shared
// machine swings by 2× between identical runs.
func BenchmarkHealthUnderLoginFlood(b *testing.B) {
	cd := startAuthChartd(b)
	probe := func(n int) []time.Duration {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		out := make([]time.Duration, 0, n)
		for range n {
			<-tick.C
			start := time.Now()
			res, err := client.Get(cd.URL + "/health")
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			out = append(out, time.Since(start))
		}
		return out
	}
	flood := func(ctx context.Context, round int, codes map[int]int, mu *sync.Mutex) *sync.WaitGroup {
		var wg sync.WaitGroup
		for c := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				local := &net.TCPAddr{IP: net.IPv4(127, byte(1+round), 1, byte(c+1))}
				tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: local}).DialContext, MaxIdleConnsPerHost: 1}
				client := &http.Client{Transport: tr}
				for n := 0; ctx.Err() == nil && n < 100000; n++ {
					req, _ := http.NewRequestWithContext(ctx, "GET", cd.URL+"/v2/token?service=chartd", nil)
					req.SetBasicAuth(fmt.Sprintf("user%d", rand.Int()), "guess")
					res, err := client.Do(req)
					if err != nil {
						return
					}
					res.Body.Close()
					mu.Lock()
					codes[res.StatusCode]++
					mu.Unlock()
				}
			}()
		}
		return &wg
	}
	for i := 0; i < b.N; i++ {
		var ratios []float64
		for r := range rounds(3) {
			idle := quantile(probe(2000), 0.99)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			var mu sync.Mutex
			codes := map[int]int{}
			wg := flood(ctx, r, codes, &mu)
			loaded := quantile(probe(2000), 0.99)
			cancel()
			wg.Wait()
			ratio := float64(loaded) / float64(idle)
			ratios = append(ratios, ratio)
			b.Logf("round %d: /health p99 idle %v, under a 16-client login flood %v: ratio %.2f (flood answers: %v)",
				r+1, idle.Round(time.Microsecond), loaded.Round(time.Microsecond), ratio, codes)
		}
		slices.Sort(ratios)
		med := ratios[len(ratios)/2]
		b.Logf("median ratio of %d rounds: %.2f (all: %.2f)", len(ratios), med, ratios)
		b.ReportMetric(med, "p99-flood/idle")
		if med > 2 {
			b.Errorf("/health p99 under a login flood is %.2f× idle (median of %d rounds), want ≤ 2", med, len(ratios))
		}
	}
}
