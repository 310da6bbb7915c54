package action

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chartd/chartd/internal/render/releaseutil"
	"github.com/chartd/chartd/kube"
	"github.com/chartd/chartd/release"
	"sigs.k8s.io/yaml"
)

// Uninstall is `helm uninstall` (alias delete).
type Uninstall struct {
	Cfg            *Configuration
	KeepHistory    bool
	DryRun         bool
	IgnoreNotFound bool
	Description    string
	// Cascade is the deletion propagation: background (default), orphan
	// or foreground.
	Cascade string
	// Wait (any strategy but hookOnly) waits until the deleted objects
	// are gone, for at most Timeout.
	Wait kube.WaitStrategy
	// DisableHooks is --no-hooks.
	DisableHooks bool
	Timeout      time.Duration
}

// UninstallResult is what an uninstall did.
type UninstallResult struct {
	Release *release.Release
	// Kept are the objects left by helm.sh/resource-policy: keep, as
	// "[Kind] name" lines.
	Kept []string
	// deleted are the objects deleted, for --wait.
	deleted kube.ResourceList
}

// Run deletes the release's objects in reverse install order and its
// history (unless KeepHistory). CRDs from crds/ are not in the manifest,
// so they are never deleted.
func (u *Uninstall) Run(ctx context.Context, name string) (*UninstallResult, error) {
	cfg := u.Cfg
	prop, err := kube.ParsePropagation(u.Cascade)
	if err != nil {
		return nil, err
	}
	h, err := cfg.history(ctx, name)
	if errors.Is(err, ErrReleaseNotFound) {
		if u.IgnoreNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("uninstall: Release not loaded: %s: %w", name, err)
	}
	if err != nil {
		return nil, err
	}
	rel := h[len(h)-1]
	if u.DryRun {
		return &UninstallResult{Release: rel}, nil
	}
	if rel.Info.Status == release.StatusUninstalled {
		if !u.KeepHistory {
			if err := u.purge(ctx, h); err != nil {
				return nil, err
			}
			return &UninstallResult{Release: rel}, nil
		}
		return nil, fmt.Errorf("the release named %q is already deleted", name)
	}
	rel.Info.Status = release.StatusUninstalling
	rel.Info.Deleted = release.Now()
	rel.Info.Description = "Deletion in progress (or silently failed)"
	cfg.record(ctx, rel)

	res := &UninstallResult{Release: rel}
	if err := cfg.runHooks(ctx, rel, release.HookPreDelete, u.DisableHooks, u.Timeout); err != nil {
		// As in Helm, the release stays "uninstalling": uninstall again.
		return res, err
	}
	var errs []error
	if err := u.deleteObjects(ctx, rel, res, prop); err != nil {
		errs = append(errs, err)
	} else if err := cfg.Kube.WaitForDelete(ctx, res.deleted, kube.WaitOptions{Strategy: u.Wait, Timeout: u.Timeout}); err != nil {
		errs = append(errs, err)
	}
	if err := cfg.runHooks(ctx, rel, release.HookPostDelete, u.DisableHooks, u.Timeout); err != nil {
		errs = append(errs, err)
	}
	delErr := joinErrors(errs)
	rel.Info.Status = release.StatusUninstalled
	rel.Info.Description = "Uninstallation complete"
	if u.Description != "" {
		rel.Info.Description = u.Description
	}
	if !u.KeepHistory {
		if err := u.purge(ctx, h); err != nil {
			return res, errors.Join(delErr, err)
		}
	} else if err := cfg.Releases.Update(ctx, rel); err != nil {
		return res, errors.Join(delErr, err)
	}
	if delErr != nil {
		return res, fmt.Errorf("uninstallation completed with %d error(s): %w", len(errs), delErr)
	}
	return res, nil
}

func (u *Uninstall) deleteObjects(ctx context.Context, rel *release.Release, res *UninstallResult, prop metav1.DeletionPropagation) error {
	files := map[string]string{}
	for i, doc := range releaseutil.SplitManifests(rel.Manifest) {
		files[fmt.Sprintf("manifest-%d", i)] = doc
	}
	_, sorted, err := releaseutil.SortManifests(files, releaseutil.UninstallOrder())
	if err != nil {
		return fmt.Errorf("corrupted release record. You must manually delete the resources: %w", err)
	}
	var b strings.Builder
	for _, m := range sorted {
		if keepPolicy(m.Content) {
			res.Kept = append(res.Kept, fmt.Sprintf("[%s] %s", m.Kind, docName(m.Content)))
			continue
		}
		fmt.Fprintf(&b, "---\n%s\n", m.Content)
	}
	l, err := u.Cfg.Kube.Build(ctx, b.String())
	if err != nil {
		return fmt.Errorf("unable to build kubernetes objects for delete: %w", err)
	}
	deleted, kept, err := u.Cfg.Kube.Delete(ctx, l, kube.DeleteOptions{Propagation: prop})
	res.deleted = deleted
	for _, k := range kept {
		res.Kept = append(res.Kept, fmt.Sprintf("[%s] %s", k.Kind(), k.Name()))
	}
	return err
}

func (u *Uninstall) purge(ctx context.Context, h []*release.Release) error {
	var errs []error
	for _, r := range h {
		if _, err := u.Cfg.Releases.Delete(ctx, r.Name, r.Version); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type docHead struct {
	Metadata struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
}

func keepPolicy(doc string) bool {
	var h docHead
	if yaml.Unmarshal([]byte(doc), &h) != nil {
		return false
	}
	return strings.TrimSpace(strings.ToLower(h.Metadata.Annotations[kube.ResourcePolicyAnno])) == kube.KeepPolicy
}

func docName(doc string) string {
	var h docHead
	_ = yaml.Unmarshal([]byte(doc), &h)
	return h.Metadata.Name
}
