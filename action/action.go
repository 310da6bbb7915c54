// Package action holds the helm client's release commands, one struct per
// command with a Run(ctx, ...) method, as Helm lays them out. Actions take a
// Configuration (the cluster, the release store and a logger), return what
// happened, and print nothing: internal/cli does the flags and the output.
package action

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
	"github.com/chartd/chartd/release/driver"
)

// Sentinel errors with Helm's messages.
var (
	// ErrReleaseNotFound: no revision of the release exists.
	ErrReleaseNotFound = release.ErrNotFound
	// ErrNameInUse: install of a name whose release still exists.
	ErrNameInUse = errors.New("cannot re-use a name that is still in use")
	// ErrPending: another install, upgrade or rollback is in progress.
	ErrPending = errors.New("another operation (install/upgrade/rollback) is in progress")
)

// recordTimeout bounds the writing of a revision's final state.
const recordTimeout = 30 * time.Second

// Configuration is what every action works with.
type Configuration struct {
	// Kube talks to the cluster; nil only for client-side dry runs.
	Kube *kube.Client
	// Releases is the release store of the release namespace.
	Releases *release.Store
	// Namespace is the release namespace.
	Namespace string
	Logger    *slog.Logger
	// HookOutput receives the container logs of hooks whose
	// helm.sh/hook-output-log-policy asks for them (hooklogs.go); nil
	// drops them.
	HookOutput HookOutputFunc
	// clients builds stores for other namespaces (list -A) and the
	// namespace of --create-namespace.
	clients kubernetes.Interface
	driver  string
}

// Options configure New.
type Options struct {
	Flags kube.ConfigFlags
	// Driver is HELM_DRIVER: secret (default), secrets, configmap,
	// configmaps or memory.
	Driver     string
	MaxHistory int
	Logger     *slog.Logger
}

// Validate reports every problem at once.
func (o *Options) Validate() error {
	var errs []error
	switch strings.ToLower(o.Driver) {
	case "", "secret", "secrets", "configmap", "configmaps", "memory":
	case "sql":
		errs = append(errs, errors.New(`HELM_DRIVER "sql" is not supported`))
	default:
		errs = append(errs, fmt.Errorf("unknown driver %q", o.Driver))
	}
	if o.MaxHistory < 0 {
		errs = append(errs, fmt.Errorf("max history %d is negative", o.MaxHistory))
	}
	return errors.Join(errs...)
}

// New connects to the cluster the flags name. It does not talk to the
// cluster yet: the first action does.
func New(opt Options) (*Configuration, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := opt.Flags.RESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes cluster unreachable: %w", err)
	}
	return NewFromREST(cfg, opt.Flags.ResolvedNamespace(), opt.Driver, opt.MaxHistory, logger)
}

// NewFromREST is New for an already resolved client configuration.
func NewFromREST(cfg *rest.Config, namespace, driverName string, maxHistory int, logger *slog.Logger) (*Configuration, error) {
	kc, err := kube.New(cfg, namespace, logger)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := &Configuration{Kube: kc, Namespace: namespace, Logger: logger, clients: cs, driver: strings.ToLower(driverName)}
	c.Releases = &release.Store{Driver: c.driverFor(namespace), MaxHistory: maxHistory}
	return c, nil
}

func (c *Configuration) driverFor(namespace string) release.Driver {
	switch c.driver {
	case "configmap", "configmaps":
		return &driver.ConfigMaps{Client: c.clients.CoreV1(), Namespace: namespace}
	case "memory":
		return &driver.Memory{Namespace: namespace}
	}
	return &driver.Secrets{Client: c.clients.CoreV1(), Namespace: namespace}
}

// AllNamespaces makes the store read every namespace (list -A).
func (c *Configuration) AllNamespaces() {
	if m, ok := c.Releases.Driver.(*driver.Memory); ok {
		m.Namespace = ""
		return
	}
	c.Releases.Driver = c.driverFor("")
}

// history returns the revisions of name, or ErrReleaseNotFound.
func (c *Configuration) history(ctx context.Context, name string) ([]*release.Release, error) {
	h, err := c.Releases.History(ctx, name)
	if errors.Is(err, release.ErrNotFound) {
		return nil, ErrReleaseNotFound
	}
	return h, err
}

// record writes a revision back, logging (not returning) a failure, as
// Helm does for the bookkeeping around an operation.
func (c *Configuration) record(ctx context.Context, r *release.Release) {
	// This bookkeeping must land even when ctx is cancelled (Ctrl-C):
	// a revision left pending locks the release.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := c.Releases.Update(ctx, r); err != nil {
		c.Logger.Warn("failed to update release", "name", r.Name, "revision", r.Version, "err", err)
	}
}
