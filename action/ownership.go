package action

import (
	"context"
	"errors"
	"fmt"

	"github.com/chartd/chartd/kube"
)

// Helm's ownership metadata.
const (
	managedByLabel         = "app.kubernetes.io/managed-by"
	managedByHelm          = "Helm"
	releaseNameAnnotation  = "meta.helm.sh/release-name"
	releaseNamespaceAnnota = "meta.helm.sh/release-namespace"
)

// setOwnership marks every object as the release's.
func setOwnership(l kube.ResourceList, name, namespace string) {
	for _, r := range l {
		lbl := r.Object.GetLabels()
		if lbl == nil {
			lbl = map[string]string{}
		}
		lbl[managedByLabel] = managedByHelm
		r.Object.SetLabels(lbl)
		ann := r.Object.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[releaseNameAnnotation] = name
		ann[releaseNamespaceAnnota] = namespace
		r.Object.SetAnnotations(ann)
	}
}

// existing returns the objects of l that already exist. Unless
// takeOwnership, each must carry this release's ownership metadata, else
// the error says why it cannot be adopted, in Helm's words.
func existing(ctx context.Context, kc *kube.Client, l kube.ResourceList, name, namespace string, takeOwnership bool) (kube.ResourceList, error) {
	lives, err := kc.Fetch(ctx, l)
	if err != nil {
		var fe *kube.FetchError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("could not get information about the resource %s: %w", describe(fe.Resource), fe.Err)
		}
		return nil, fmt.Errorf("could not get information about the resources: %w", err)
	}
	var out kube.ResourceList
	for i, r := range l {
		live := lives[i]
		if live == nil {
			continue
		}
		if !takeOwnership {
			if err := checkOwnership(live.GetLabels(), live.GetAnnotations(), name, namespace); err != nil {
				return nil, fmt.Errorf("%s exists and cannot be imported into the current release: %w", describe(r), err)
			}
		}
		// The live object is the "original" of the 3-way merge.
		out = append(out, &kube.Resource{Object: live, Mapping: r.Mapping})
	}
	return out, nil
}

func describe(r *kube.Resource) string {
	if r.Namespace() == "" {
		return fmt.Sprintf("%s %q", r.Kind(), r.Name())
	}
	return fmt.Sprintf("%s %q in namespace %q", r.Kind(), r.Name(), r.Namespace())
}

func checkOwnership(lbl, ann map[string]string, name, namespace string) error {
	var msg string
	add := func(kind string, m map[string]string, k, v string) {
		actual, ok := m[k]
		switch {
		case !ok:
			msg += fmt.Sprintf("; %s validation error: missing key %q: must be set to %q", kind, k, v)
		case actual != v:
			msg += fmt.Sprintf("; %s validation error: key %q must equal %q: current value is %q", kind, k, v, actual)
		}
	}
	add("label", lbl, managedByLabel, managedByHelm)
	add("annotation", ann, releaseNameAnnotation, name)
	add("annotation", ann, releaseNamespaceAnnota, namespace)
	if msg != "" {
		return errors.New("invalid ownership metadata" + msg)
	}
	return nil
}
