package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/chartd/chartd/action"
)

// bindTimeout adds Helm's --timeout (5m0s).
func bindTimeout(fs *pflag.FlagSet, d *time.Duration) {
	fs.DurationVar(d, "timeout", action.DefaultTimeout, "time to wait for any individual Kubernetes operation (like Jobs for hooks)")
}
