package engine

import (
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Capabilities is .Capabilities in templates. Field names and types match
// Helm's, because templates reach into them (.Capabilities.KubeVersion.Minor,
// .Capabilities.APIVersions.Has ...) and toYaml/toJson expose them.
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion BuildInfo
}

// Copy returns a copy that does not share the API version list.
func (c *Capabilities) Copy() *Capabilities {
	return &Capabilities{
		KubeVersion: c.KubeVersion,
		APIVersions: slices.Clone(c.APIVersions),
		HelmVersion: c.HelmVersion,
	}
}

// KubeVersion is the Kubernetes version templates see.
type KubeVersion struct {
	Version string // Kubernetes version, "v1.37.0"
	Major   string // Kubernetes major version, "1"
	Minor   string // Kubernetes minor version, "37"
}

// String returns the full version, so {{ .Capabilities.KubeVersion }} prints it.
func (kv *KubeVersion) String() string { return kv.Version }

// GitVersion is the deprecated alias of Version that charts still use.
func (kv *KubeVersion) GitVersion() string { return kv.Version }

// kubeVersionRE splits a version into its numeric part and the rest, as
// Kubernetes' generic version parser does.
var kubeVersionRE = regexp.MustCompile(`^\s*v?([0-9]+(?:\.[0-9]+)*)(.*)*$`)

// ParseKubeVersion parses a --kube-version argument ("1.28", "v1.28.3")
// with the rules and messages of Kubernetes' ParseGeneric, which Helm uses:
// at least major.minor, no zero-prefixed major, anything after the numbers
// ignored. Version keeps as many components as were given ("v1.28").
func ParseKubeVersion(s string) (*KubeVersion, error) {
	parts := kubeVersionRE.FindStringSubmatch(s)
	if parts == nil {
		return nil, fmt.Errorf("could not parse %q as version", s)
	}
	comps := strings.Split(parts[1], ".")
	if len(comps) < 2 {
		return nil, fmt.Errorf("illegal version string %q", s)
	}
	nums := make([]string, len(comps))
	for i, c := range comps {
		if i == 0 && strings.HasPrefix(c, "0") && c != "0" {
			return nil, fmt.Errorf("illegal zero-prefixed version component %q in %q", c, s)
		}
		n, err := strconv.ParseUint(c, 10, 0)
		if err != nil {
			return nil, fmt.Errorf("illegal non-numeric version component %q in %q: %v", c, s, err)
		}
		nums[i] = strconv.FormatUint(n, 10)
	}
	return &KubeVersion{
		Version: "v" + strings.Join(nums, "."),
		Major:   nums[0],
		Minor:   nums[1],
	}, nil
}

// VersionSet is the list of API versions ("apps/v1", "apps/v1/Deployment").
type VersionSet []string

// Has reports whether the set holds an API version.
func (v VersionSet) Has(apiVersion string) bool { return slices.Contains(v, apiVersion) }

// BuildInfo is .Capabilities.HelmVersion.
type BuildInfo struct {
	Version      string `json:"version,omitempty"`
	GitCommit    string `json:"git_commit,omitempty"`
	GitTreeState string `json:"git_tree_state,omitempty"`
	GoVersion    string `json:"go_version,omitempty"`
}

// HelmVersion is the Helm release whose behaviour chartd reproduces.
const HelmVersion = "v3.22.0"

// DefaultKubeMajor and DefaultKubeMinor make the Kubernetes version,
// v1.37.0, that a released Helm v3.22.0 assumes without a cluster (helm
// template, helm lint). Helm's release builds stamp it from their client-go,
// v0.37 → v1.37.0 (its Makefile's -X .../pkg/chartutil.k8sVersionMajor and
// Minor ldflags); a plain `go install` of Helm reports v1.20.0 instead,
// which is not what users of the downloaded binary see, and
// kubeVersion-constrained charts render differently. The tests compare with
// a Helm built like the release (make tools).
const (
	DefaultKubeMajor = "1"
	DefaultKubeMinor = "37"
)

// DefaultCapabilities returns what a released Helm 3.22 assumes without a
// cluster (helm template): Kubernetes v1.37.0, the API versions
// compiled into its client-go scheme, in the same order, and a build from
// a clean tree, as release builds are.
func DefaultCapabilities() *Capabilities {
	return &Capabilities{
		KubeVersion: KubeVersion{Version: "v" + DefaultKubeMajor + "." + DefaultKubeMinor + ".0", Major: DefaultKubeMajor, Minor: DefaultKubeMinor},
		APIVersions: defaultAPIVersions(),
		HelmVersion: BuildInfo{Version: HelmVersion, GitTreeState: "clean", GoVersion: runtime.Version()},
	}
}

// defaultAPIVersions is the group/version list of Helm 3.22's client-go
// scheme (PrioritizedVersionsAllGroups, plus apiextensions), captured from
// real helm; TestDefaultAPIVersionsMatchHelm keeps it honest.
func defaultAPIVersions() VersionSet {
	return VersionSet{
		"v1",
		"admissionregistration.k8s.io/v1",
		"admissionregistration.k8s.io/v1alpha1",
		"admissionregistration.k8s.io/v1beta1",
		"internal.apiserver.k8s.io/v1alpha1",
		"apps/v1",
		"apps/v1beta1",
		"apps/v1beta2",
		"authentication.k8s.io/v1",
		"authentication.k8s.io/v1alpha1",
		"authentication.k8s.io/v1beta1",
		"authorization.k8s.io/v1",
		"authorization.k8s.io/v1beta1",
		"autoscaling/v1",
		"autoscaling/v2",
		"batch/v1",
		"batch/v1beta1",
		"certificates.k8s.io/v1",
		"certificates.k8s.io/v1beta1",
		"certificates.k8s.io/v1alpha1",
		"coordination.k8s.io/v1alpha2",
		"coordination.k8s.io/v1beta1",
		"coordination.k8s.io/v1",
		"discovery.k8s.io/v1",
		"discovery.k8s.io/v1beta1",
		"events.k8s.io/v1",
		"events.k8s.io/v1beta1",
		"extensions/v1beta1",
		"flowcontrol.apiserver.k8s.io/v1",
		"flowcontrol.apiserver.k8s.io/v1beta1",
		"flowcontrol.apiserver.k8s.io/v1beta2",
		"flowcontrol.apiserver.k8s.io/v1beta3",
		"lifecycle.k8s.io/v1alpha1",
		"networking.k8s.io/v1",
		"networking.k8s.io/v1beta1",
		"node.k8s.io/v1",
		"node.k8s.io/v1alpha1",
		"node.k8s.io/v1beta1",
		"policy/v1",
		"policy/v1beta1",
		"rbac.authorization.k8s.io/v1",
		"rbac.authorization.k8s.io/v1beta1",
		"rbac.authorization.k8s.io/v1alpha1",
		"resource.k8s.io/v1",
		"resource.k8s.io/v1beta2",
		"resource.k8s.io/v1beta1",
		"resource.k8s.io/v1alpha3",
		"scheduling.k8s.io/v1alpha3",
		"scheduling.k8s.io/v1beta1",
		"scheduling.k8s.io/v1",
		"storage.k8s.io/v1beta1",
		"storage.k8s.io/v1",
		"storage.k8s.io/v1alpha1",
		"storagemigration.k8s.io/v1",
		"storagemigration.k8s.io/v1beta1",
		"apiextensions.k8s.io/v1beta1",
		"apiextensions.k8s.io/v1",
	}
}
