package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/chartd/chartd/kube"
)

// waitFlags are --wait, --wait-for-jobs, --timeout and --atomic (Helm 4:
// --rollback-on-failure), which install, upgrade, rollback and uninstall
// take in part.
type waitFlags struct {
	Wait        kube.WaitStrategy
	WaitForJobs bool
	Timeout     time.Duration
	Atomic      bool
}

const waitUsage = "if set, will wait until all Pods, PVCs, Services, and minimum number of Pods of a Deployment, StatefulSet, or ReplicaSet are in a ready state before marking the release as successful. It will wait for as long as --timeout. " +
	"A bare --wait means 'legacy' (Helm 3's readiness rules, as in Helm 3; Helm 4 makes it 'watcher'); --wait=watcher waits as Helm 4 does (kstatus, which also waits for custom resources), --wait=hookOnly waits for hooks only"

// bindWait adds --wait, --timeout and, unless uninstall, --wait-for-jobs.
func (w *waitFlags) bindWait(fs *pflag.FlagSet, verb string) {
	usage := waitUsage
	if verb == "uninstall" {
		usage = "if set, will wait until all the resources are deleted before returning. It will wait for as long as --timeout. A bare --wait polls as Helm 3 does; --wait=watcher watches as Helm 4 does"
	}
	fs.Var(waitValue{&w.Wait}, "wait", usage)
	fs.Lookup("wait").NoOptDefVal = string(kube.WaitLegacy)
	bindTimeout(fs, &w.Timeout)
	if verb != "uninstall" {
		fs.BoolVar(&w.WaitForJobs, "wait-for-jobs", false, "if set and --wait enabled, will wait until all Jobs have been completed before marking the release as successful. It will wait for as long as --timeout")
	}
}

// bindAtomic adds --atomic and Helm 4's name for it, hidden so the help
// reads as Helm 3's.
func (w *waitFlags) bindAtomic(fs *pflag.FlagSet, verb string) {
	usage := "if set, the installation process deletes the installation on failure. The --wait flag will be set automatically if --atomic is used"
	if verb == "upgrade" {
		usage = "if set, upgrade process rolls back changes made in case of failed upgrade. The --wait flag will be set automatically if --atomic is used"
	}
	fs.BoolVar(&w.Atomic, "atomic", false, usage)
	fs.BoolVar(&w.Atomic, "rollback-on-failure", false, usage)
	_ = fs.MarkHidden("rollback-on-failure")
}

// waitValue parses --wait as the flag is read, as Helm 4 does; its type
// reads "string", as Helm 3's help has no type for a boolean --wait.
type waitValue struct{ p *kube.WaitStrategy }

func (v waitValue) String() string {
	if v.p == nil {
		return ""
	}
	return string(*v.p)
}

func (v waitValue) Set(s string) error {
	w, err := kube.ParseWaitStrategy(s)
	if err != nil {
		return err
	}
	*v.p = w
	return nil
}

func (waitValue) Type() string { return "string" }
