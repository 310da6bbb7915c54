package action

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/values"
)

// Dry-run modes (--dry-run=none|client|server).
const (
	DryRunNone   = "none"
	DryRunClient = "client"
	DryRunServer = "server"
)

// Install is `helm install`.
type Install struct {
	Cfg             *Configuration
	ReleaseName     string
	CreateNamespace bool
	SkipCRDs        bool
	// DryRun is "", "none", "client" or "server".
	DryRun        string
	Replace       bool
	Description   string
	Labels        map[string]string
	TakeOwnership bool
	Force         bool
	Render        RenderOptions
	// Wait is --wait's strategy (none when empty); Atomic (Helm 4's
	// --rollback-on-failure) uninstalls a failed install. See failure.go.
	Wait        kube.WaitStrategy
	WaitForJobs bool
	Timeout     time.Duration
	Atomic      bool
	Apply       ApplyOptions
	// DisableHooks is --no-hooks.
	DisableHooks bool
	// Rendered is set by Run to what it rendered (partial when rendering
	// failed), for helm template to print.
	Rendered *render.Result
}

func (i *Install) dryRun() bool { return i.DryRun == DryRunClient || i.DryRun == DryRunServer }

// Run installs ch with the user's values. A failure after the release was
// recorded leaves it "failed" and returns it with the error.
func (i *Install) Run(ctx context.Context, ch *chart.Chart, vals values.Values) (*release.Release, error) {
	cfg := i.Cfg
	ns := cfg.Namespace
	if err := render.ValidateReleaseName(i.ReleaseName); err != nil {
		return nil, err
	}
	if i.Render.HideSecret && !i.dryRun() {
		return nil, ErrHideSecret
	}
	ssa, err := i.Apply.resolve("", "create", i.Force)
	if err != nil {
		return nil, err
	}
	client := i.DryRun == DryRunClient
	if client {
		// A client-side dry run does not talk to the cluster: no
		// capabilities, no lookup, no name check.
		c := *cfg
		c.Kube = nil
		cfg = &c
	}
	revision := 1
	var last *release.Release
	if !client {
		var err error
		if last, err = i.availableName(ctx); err != nil {
			return nil, err
		}
		if last != nil {
			revision = last.Version + 1
		}
	}
	var caps *engine.Capabilities
	if !client {
		c, err := cfg.capabilities(ctx)
		if err != nil {
			return nil, err
		}
		caps = c
	}
	rel, res, err := cfg.renderRelease(ctx, ch, vals, i.ReleaseName, ns, revision, false, caps, i.Render)
	i.Rendered = res
	if err != nil {
		return nil, err
	}
	rel.Labels = i.Labels
	rel.ApplyMethod = applyMethod(ssa)
	if i.dryRun() {
		rel.SetStatus(release.StatusPendingInstall, "Dry run complete")
		if client {
			return rel, nil
		}
		// A server dry run checks what the install would: kinds the
		// cluster serves, and objects another owner holds (Helm's order
		// and messages).
		objs, err := cfg.Kube.Build(ctx, rel.Manifest)
		if err != nil {
			if len(res.CRDs) == 0 {
				return nil, fmt.Errorf("unable to build kubernetes objects from release manifest: %w", err)
			}
			return rel, nil
		}
		setOwnership(objs, rel.Name, ns)
		if _, err := existing(ctx, cfg.Kube, objs, rel.Name, ns, i.TakeOwnership); err != nil {
			return nil, fmt.Errorf("Unable to continue with install: %w", err) //nolint:staticcheck // Helm's message
		}
		return rel, cfg.preflight(ctx, change{target: objs, create: true, ssa: ssa})
	}
	if i.CreateNamespace {
		if err := i.createNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	if !i.SkipCRDs && len(res.CRDs) > 0 {
		if err := i.installCRDs(ctx, crdManifests(res)); err != nil {
			return nil, err
		}
	}
	resources, err := cfg.Kube.Build(ctx, rel.Manifest)
	if err != nil {
		return nil, fmt.Errorf("unable to build kubernetes objects from release manifest: %w", err)
	}
	setOwnership(resources, rel.Name, ns)
	adopt, err := existing(ctx, cfg.Kube, resources, rel.Name, ns, i.TakeOwnership)
	if err != nil {
		return nil, fmt.Errorf("Unable to continue with install: %w", err) //nolint:staticcheck // Helm's message
	}
	w := change{
		original: adopt, target: resources, create: len(adopt) == 0, ssa: ssa, fromCSA: len(adopt) > 0,
		forceReplace: i.Force, forceConflicts: i.Apply.ForceConflicts,
	}
	if err := cfg.preflight(ctx, w); err != nil {
		return nil, err
	}

	rel.SetStatus(release.StatusPendingInstall, "Initial install underway")
	if last != nil {
		// --replace: the uninstalled or failed release gives way.
		last.SetStatus(release.StatusSuperseded, "superseded by new release")
		cfg.record(ctx, last)
	}
	if err := cfg.Releases.Create(ctx, rel); err != nil {
		return nil, err
	}
	err = cfg.runHooks(ctx, rel, release.HookPreInstall, i.DisableHooks, i.Timeout)
	if err == nil {
		_, err = cfg.apply(ctx, w)
	}
	if err == nil {
		err = cfg.Kube.Wait(ctx, resources, waitOptions(i.Wait, i.WaitForJobs, i.Timeout, i.Atomic))
	}
	if err == nil {
		err = cfg.runHooks(ctx, rel, release.HookPostInstall, i.DisableHooks, i.Timeout)
	}
	if err != nil {
		return i.failRelease(ctx, rel, err)
	}
	desc := "Install complete"
	if i.Description != "" {
		desc = i.Description
	}
	rel.SetStatus(release.StatusDeployed, desc)
	if err := cfg.Releases.Update(ctx, rel); err != nil {
		return rel, err
	}
	return rel, nil
}

// availableName checks that the name is free in the namespace; with
// --replace an uninstalled or failed release may be replaced, and is
// returned so its successor takes the next revision.
func (i *Install) availableName(ctx context.Context) (*release.Release, error) {
	h, err := i.Cfg.history(ctx, i.ReleaseName)
	if err != nil {
		// Helm treats an unreadable history as a free name: where the
		// release cannot be read, storing it fails later, with the
		// apiserver's reason.
		return nil, nil
	}
	last := h[len(h)-1]
	if err := checkLock(last); err != nil {
		return nil, err
	}
	if i.Replace && (last.Info.Status == release.StatusUninstalled || last.Info.Status == release.StatusFailed) {
		return last, nil
	}
	return nil, ErrNameInUse
}

func (i *Install) createNamespace(ctx context.Context, ns string) error {
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"name": ns}}}
	_, err := i.Cfg.clients.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{FieldManager: kube.FieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// installCRDs creates the chart's crds/ (existing ones are left as they
// are, as in Helm) and waits until the new ones are served.
func (i *Install) installCRDs(ctx context.Context, manifest string) error {
	kc := i.Cfg.Kube
	crds, err := kc.Build(ctx, manifest)
	if err != nil {
		return fmt.Errorf("failed to install CRD: %w", err)
	}
	var created kube.ResourceList
	for _, r := range crds {
		if err := kc.Create(ctx, kube.ResourceList{r}, kube.CreateOptions{}); err != nil {
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			return fmt.Errorf("failed to install CRD %s: %w", r.Name(), err)
		}
		created = append(created, r)
	}
	return kc.WaitCRDsServed(ctx, created)
}
