package action

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/release"
)

// Hooks of one event run by weight, then name; hooks equal in both keep
// the render's kind order (stored order); other events' hooks are left out.
func TestHooksOfOrder(t *testing.T) {
	h := func(kind, name string, weight int, events ...string) *release.Hook {
		return &release.Hook{Kind: kind, Name: name, Weight: weight, Events: events}
	}
	stored := []*release.Hook{
		h("ServiceAccount", "same", 0, "pre-install"),
		h("ConfigMap", "b", 0, "pre-install", "pre-upgrade"),
		h("ConfigMap", "same", 0, "pre-install"),
		h("Job", "a", 0, "pre-install"),
		h("Job", "late", 10, "pre-install"),
		h("Pod", "early", -3, "pre-install"),
		h("Pod", "test", -9, "test"),
	}
	var got []string
	for _, x := range hooksOf(stored, release.HookPreInstall) {
		got = append(got, x.Kind+"/"+x.Name)
	}
	want := []string{"Pod/early", "Job/a", "ConfigMap/b", "ServiceAccount/same", "ConfigMap/same", "Job/late"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if n := len(hooksOf(stored, release.HookPostDelete)); n != 0 {
		t.Errorf("%d hooks for an event none has", n)
	}
}
