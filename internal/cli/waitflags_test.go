package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/chartd/chartd/kube"
)

// A bare --wait is Helm 3's legacy rules; Helm 4's strategies and the old
// boolean values are accepted; anything else is refused as the flag is read.
func TestWaitFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want kube.WaitStrategy
	}{
		{nil, kube.WaitNone},
		{[]string{"--wait"}, kube.WaitLegacy},
		{[]string{"--wait", "rel"}, kube.WaitLegacy}, // the next word stays an argument
		{[]string{"--wait=true"}, kube.WaitLegacy},
		{[]string{"--wait=false"}, kube.WaitNone},
		{[]string{"--wait=legacy"}, kube.WaitLegacy},
		{[]string{"--wait=watcher"}, kube.WaitWatcher},
		{[]string{"--wait=hookOnly"}, kube.WaitHookOnly},
	} {
		var w waitFlags
		fs := pflag.NewFlagSet("install", pflag.ContinueOnError)
		w.bindWait(fs, "install")
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if w.Wait != tc.want || w.Timeout != 5*time.Minute {
			t.Errorf("%v: wait %q timeout %v, want %q 5m0s", tc.args, w.Wait, w.Timeout, tc.want)
		}
	}
	var w waitFlags
	fs := pflag.NewFlagSet("install", pflag.ContinueOnError)
	fs.SetOutput(&strings.Builder{})
	w.bindWait(fs, "install")
	if err := fs.Parse([]string{"--wait=sometimes"}); err == nil || !strings.Contains(err.Error(), `invalid wait input "sometimes"`) {
		t.Errorf("--wait=sometimes: %v", err)
	}
}
