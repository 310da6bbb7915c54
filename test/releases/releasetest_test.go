package releases

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

var runTimes = regexp.MustCompile(`(?m)^(LAST DEPLOYED|NAMESPACE|Last Started|Last Completed):(\s+).*$`)

func normalizeTimes(s string) string { return runTimes.ReplaceAllString(s, "$1:${2}X") }

// helm test runs the test hooks (all, or those --filter picks), prints
// the status with each test's run as Helm 3.22 does, exits non-zero when
// one fails or times out, and with --logs names the pod and the
// apiserver's reason when there are no logs to get (no kubelet here).
func TestReleaseTestMatchesHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "tested", map[string]string{
		"templates/deployment.yaml": "",
		"templates/test.yaml": hookPod("t-ok", "test", "0", "") + hookPod("t-two", "test", "1", "") +
			hookPod("bad-t", "test", "2", "") + hookPod("hang-t", "test", "3", "") + // A pre-install hook is no test: no filter runs it.
			hookPod("pre", "pre-install", "0", "") +
			// The apiserver serves no logs of a pod bound to a node that
			// does not exist (of one bound to none, it serves empty ones).
			strings.Replace(hookPod("logs-t", "test", "4", ""), "spec:\n", "spec:\n  nodeName: no-kubelet\n", 1),
	})
	nsOurs, nsHelm := cluster.Namespace(t), cluster.Namespace(t)
	k := runKubelet(t, nsOurs, nsHelm)
	ours.must(t, "install", "h", chart, "-n", nsOurs)
	helm3.must(t, "install", "h", chart, "-n", nsHelm)
	k.pods(nsOurs)
	k.pods(nsHelm)
	for _, tc := range []struct {
		args     []string
		wantCode int
		pods     []string
	}{
		{[]string{"--filter", "name=t-ok,name=t-two"}, 0, []string{"t-ok", "t-two"}},
		{[]string{"--filter", "!name=bad-t", "--filter", "!name=hang-t", "--filter", "!name=logs-t"}, 0, []string{"t-ok", "t-two"}},
		{[]string{"--filter", "!name=hang-t,!name=logs-t"}, 1, []string{"t-ok", "t-two", "bad-t"}},
		{[]string{"--filter", "name=hang-t", "--timeout", "1s"}, 1, []string{"hang-t"}},
		{[]string{"--filter", "name=t-ok,name=logs-t", "--logs"}, 1, []string{"t-ok", "logs-t"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got := map[string]result{}
			for _, x := range []struct {
				c  *client
				ns string
			}{{ours, nsOurs}, {helm3, nsHelm}} {
				r := x.c.run(t, append([]string{"test", "h", "-n", x.ns}, tc.args...)...)
				r.stdout = normalizeTimes(r.stdout)
				got[x.c.name] = r
				if diff := cmp.Diff(tc.pods, k.pods(x.ns)); diff != "" {
					t.Errorf("%s ran (-want +got):\n%s", x.c.name, diff)
				}
			}
			if diff := cmp.Diff(got["helm3"], got["ours"], cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("(-helm3 +ours):\n%s", diff)
			}
			if r := got["ours"]; r.code != tc.wantCode || !strings.Contains(r.stdout, "TEST SUITE:     ") {
				t.Errorf("ours: exit %d, want %d\n%s%s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
		})
	}
	// The runs are stored: status shows them, and Helm 3 reads ours.
	want := normalizeTimes(helm3.must(t, "status", "h", "-n", nsHelm))
	for _, c := range []*client{ours, helm3} {
		if got := normalizeTimes(c.must(t, "status", "h", "-n", nsOurs)); got != want {
			t.Errorf("%s status of ours:\n%s\nwant (helm3's own):\n%s", c.name, got, want)
		}
	}
}
