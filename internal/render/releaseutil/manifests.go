// Package releaseutil splits rendered templates into Kubernetes documents
// and orders them the way Helm 3 installs them, separating hooks. The
// package name is Helm's on purpose: Helm's YAML errors name the type
// "releaseutil.SimpleHead", and our messages must be identical.
package releaseutil

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Hook annotations, as in Helm.
const (
	HookAnnotation          = "helm.sh/hook"
	HookWeightAnnotation    = "helm.sh/hook-weight"
	HookDeleteAnnotation    = "helm.sh/hook-delete-policy"
	HookOutputLogAnnotation = "helm.sh/hook-output-log-policy"
)

// hookEvent maps a helm.sh/hook value to its event; "test-success" is the
// Helm 2 spelling of "test".
func hookEvent(s string) (string, bool) {
	switch s {
	case "pre-install", "post-install", "pre-delete", "post-delete", "pre-upgrade",
		"post-upgrade", "pre-rollback", "post-rollback", "test":
		return s, true
	case "test-success":
		return "test", true
	}
	return "", false
}

// InstallOrder is the order in which Helm 3.22 installs kinds; kinds not
// listed come after, alphabetically.
func InstallOrder() []string {
	return []string{
		"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
		"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
		"ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
		"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
		"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
		"Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
		"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
		"APIService",
	}
}

// UninstallOrder is the order in which Helm 3.22 uninstalls kinds. It is
// not InstallOrder reversed: Services and the workloads' front doors
// (APIService, Ingress) go first, so traffic stops before the pods do.
func UninstallOrder() []string {
	return []string{
		"APIService", "Ingress", "IngressClass", "Service", "CronJob", "Job", "StatefulSet",
		"HorizontalPodAutoscaler", "Deployment", "ReplicaSet", "ReplicationController", "Pod", "DaemonSet",
		"RoleBindingList", "RoleBinding", "RoleList", "Role", "ClusterRoleBindingList", "ClusterRoleBinding",
		"ClusterRoleList", "ClusterRole", "CustomResourceDefinition", "PersistentVolumeClaim", "PersistentVolume",
		"StorageClass", "ConfigMap", "SecretList", "Secret", "ServiceAccount", "PodDisruptionBudget",
		"PodSecurityPolicy", "LimitRange", "ResourceQuota", "NetworkPolicy", "Namespace", "PriorityClass",
	}
}

// Manifest is one rendered document that is not a hook.
type Manifest struct {
	// Name is the template it came from, e.g. "mychart/templates/cm.yaml".
	Name string
	// Content is the document, trimmed, without the "---" separator.
	Content    string
	APIVersion string
	Kind       string
}

// Hook is a rendered document annotated with helm.sh/hook.
type Hook struct {
	Name string // metadata.name
	Kind string
	// Path is the template it came from.
	Path           string
	Manifest       string
	Events         []string
	Weight         int
	DeletePolicies []string
	// OutputLogPolicies are the values of helm.sh/hook-output-log-policy.
	OutputLogPolicies []string
}

// IsTest reports whether the hook runs on `helm test`.
func (h *Hook) IsTest() bool { return slices.Contains(h.Events, "test") }

// SimpleHead is the part of a document Helm reads to classify it. The type
// name shows up in YAML type errors ("Go struct field SimpleHead.kind"), so
// it matches Helm's.
type SimpleHead struct {
	Version  string `json:"apiVersion"`
	Kind     string `json:"kind,omitempty"`
	Metadata *struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata,omitempty"`
}

var docSep = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

// SplitManifests splits a multi-document YAML string into trimmed
// documents, dropping empty ones, with Helm's separator rules (a "---"
// line, tolerant of surrounding blanks).
func SplitManifests(s string) []string {
	var docs []string
	for _, d := range docSep.Split(strings.TrimSpace(s), -1) {
		if d == "" {
			continue
		}
		docs = append(docs, strings.TrimSpace(d))
	}
	return docs
}

// SortManifests classifies rendered templates into hooks and manifests and
// orders both by kind (stable, so file order then document order breaks
// ties). Partials and blank outputs are skipped. A document that is not
// valid YAML is an error naming its template.
func SortManifests(files map[string]string, order []string) ([]*Hook, []Manifest, error) {
	return SortManifestsFunc(files, order, nil)
}

// SortManifestsFunc is SortManifests calling skipped (if not nil) with the
// helm.sh/hook annotation of each document it drops for naming an unknown
// hook event; Helm logs those.
func SortManifestsFunc(files map[string]string, order []string, skipped func(hookTypes string)) ([]*Hook, []Manifest, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)

	var hooks []*Hook
	var generic []Manifest
	for _, name := range names {
		content := files[name]
		if strings.HasPrefix(path.Base(name), "_") || strings.TrimSpace(content) == "" {
			continue
		}
		for _, doc := range SplitManifests(content) {
			var head SimpleHead
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return hooks, generic, fmt.Errorf("YAML parse error on %s: %w", name, err)
			}
			var hookTypes string
			isHook := false
			if head.Metadata != nil && len(head.Metadata.Annotations) != 0 {
				hookTypes, isHook = head.Metadata.Annotations[HookAnnotation]
			}
			if !isHook {
				generic = append(generic, Manifest{Name: name, Content: doc, APIVersion: head.Version, Kind: head.Kind})
				continue
			}
			if h := newHook(name, doc, &head, hookTypes); h != nil {
				hooks = append(hooks, h)
			} else if skipped != nil {
				skipped(hookTypes)
			}
		}
	}
	rank := make(map[string]int, len(order))
	for i, k := range order {
		rank[k] = i
	}
	sort.SliceStable(hooks, func(i, j int) bool { return lessByKind(hooks[i].Kind, hooks[j].Kind, rank) })
	sort.SliceStable(generic, func(i, j int) bool { return lessByKind(generic[i].Kind, generic[j].Kind, rank) })
	return hooks, generic, nil
}

// newHook builds a hook, or returns nil for an unknown hook event: Helm
// drops such documents entirely.
func newHook(file, doc string, head *SimpleHead, hookTypes string) *Hook {
	ann := head.Metadata.Annotations
	w, err := strconv.Atoi(ann[HookWeightAnnotation])
	if err != nil {
		w = 0
	}
	h := &Hook{
		Name: head.Metadata.Name, Kind: head.Kind, Path: file, Manifest: doc,
		Events: []string{}, Weight: w, DeletePolicies: []string{}, OutputLogPolicies: []string{},
	}
	for _, t := range strings.Split(hookTypes, ",") {
		e, ok := hookEvent(strings.ToLower(strings.TrimSpace(t)))
		if !ok {
			return nil
		}
		h.Events = append(h.Events, e)
	}
	h.DeletePolicies = annotationList(ann, HookDeleteAnnotation)
	h.OutputLogPolicies = annotationList(ann, HookOutputLogAnnotation)
	return h
}

func annotationList(ann map[string]string, key string) []string {
	out := []string{}
	if v, ok := ann[key]; ok {
		for _, p := range strings.Split(v, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(p)))
		}
	}
	return out
}

func lessByKind(a, b string, rank map[string]int) bool {
	ra, aok := rank[a]
	rb, bok := rank[b]
	switch {
	case !aok && !bok:
		return a < b
	case !aok:
		return false
	case !bok:
		return true
	}
	return ra < rb
}
