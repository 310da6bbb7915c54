// Package kube talks to the Kubernetes API for the helm client: it builds
// objects from rendered YAML, maps them to resources through discovery,
// and creates, updates (a 3-way strategic merge, as Helm 3 does) and
// deletes them. It knows nothing of charts or releases.
package kube

import (
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ConfigFlags are Helm's connection flags (--kubeconfig, --kube-context,
// --kube-token, ...). Empty fields defer to the kubeconfig, which client-go
// finds through KUBECONFIG and ~/.kube/config, or to the in-cluster
// configuration when there is none.
type ConfigFlags struct {
	Kubeconfig    string
	Context       string
	Token         string
	AsUser        string
	AsGroups      []string
	APIServer     string
	CAFile        string
	TLSServerName string
	Insecure      bool
	// Namespace is -n; empty means the context's namespace, else "default".
	Namespace string
	QPS       float32
	Burst     int
}

func (f *ConfigFlags) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.Kubeconfig
	o := &clientcmd.ConfigOverrides{
		CurrentContext: f.Context,
		AuthInfo: clientcmdapi.AuthInfo{
			Token: f.Token, Impersonate: f.AsUser, ImpersonateGroups: f.AsGroups,
		},
		ClusterInfo: clientcmdapi.Cluster{
			Server: f.APIServer, CertificateAuthority: f.CAFile,
			TLSServerName: f.TLSServerName, InsecureSkipTLSVerify: f.Insecure,
		},
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, o)
}

// RESTConfig resolves the flags into a client configuration.
func (f *ConfigFlags) RESTConfig() (*rest.Config, error) {
	cfg, err := f.clientConfig().ClientConfig()
	if err != nil {
		return nil, err
	}
	// Without --qps the client does not throttle itself: the apiserver's
	// priority and fairness does. Helm gets the same in effect, as its
	// resource builder gives every request path its own token bucket,
	// whereas one shared bucket of client-go's default 5 QPS would take a
	// minute over a 200-object chart.
	cfg.QPS = -1
	if f.QPS != 0 {
		cfg.QPS = f.QPS
	}
	if f.Burst != 0 {
		cfg.Burst = f.Burst
	}
	cfg.UserAgent = "Helm/chartd"
	return cfg, nil
}

// ResolvedNamespace is -n, else the kubeconfig context's namespace, else
// "default", as in Helm.
func (f *ConfigFlags) ResolvedNamespace() string {
	if f.Namespace != "" {
		return f.Namespace
	}
	if ns, _, err := f.clientConfig().Namespace(); err == nil && ns != "" {
		return ns
	}
	return "default"
}
