package releases

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// settled waits until the controllers have made the Deployment's pods, so
// that two clients' status print the same counts.
func settled(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	deps := cluster.Clientset(t).AppsV1().Deployments(ns)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return deps.List(ctx, o) },
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return deps.Watch(ctx, o)
		},
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &appsv1.Deployment{}, nil, func(e watch.Event) (bool, error) {
		d, ok := e.Object.(*appsv1.Deployment)
		return ok && d.Name == name && d.Status.ObservedGeneration >= d.Generation && d.Status.Replicas == replicas && d.Status.UpdatedReplicas == replicas, nil
	})
	if err != nil {
		t.Fatalf("deployment %s/%s did not settle: %v", ns, name, err)
	}
}

var (
	ages     = regexp.MustCompile(`\b\d+[smhd](\d+[smhd])?\b`)
	podNames = regexp.MustCompile(`\b(web-[a-z0-9]+)-[a-z0-9]{5}\b`)
	spaces   = regexp.MustCompile(`[ \t]+`)
)

// resourceSections splits status output into the part before RESOURCES,
// the "==> kind" sections (sorted: Helm prints them in map order), and the
// rest, with ages, pod name suffixes, times and column widths masked.
func resourceSections(s string) (head string, sections []string, tail string) {
	s = normalizeTimes(s)
	head, rest, ok := strings.Cut(s, "RESOURCES:\n")
	if !ok {
		return s, nil, ""
	}
	// Each section ends in a blank line, and the block in one more.
	body, tail, _ := strings.Cut(rest, "\n\n\n")
	for _, sec := range strings.Split(body, "==> ")[1:] {
		// Pod names first: a random suffix such as "42d7h" reads as an
		// age, and masking ages first left one pod named web-…-AGE.
		sec = podNames.ReplaceAllString(sec, "$1-XXXXX")
		sec = ages.ReplaceAllString(sec, "AGE")
		sec = spaces.ReplaceAllString(sec, " ")
		sections = append(sections, strings.TrimSpace(sec))
	}
	sort.Strings(sections)
	return head, sections, tail
}

// status --show-resources prints the live objects and the Deployment's
// pods as Helm 3.22 prints them (kubectl's tables), and -o json carries
// them in info.resources under Helm's keys.
func TestStatusShowResourcesMatchesHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "web", map[string]string{
		"templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  clusterIP: None\n  selector: {app: web}\n  ports: [{port: 80}]\n",
	})
	nsOurs, nsHelm := cluster.Namespace(t), cluster.Namespace(t)
	ours.must(t, "install", "web", chart, "-n", nsOurs)
	helm3.must(t, "install", "web", chart, "-n", nsHelm)
	settled(t, nsOurs, "web", 2)
	settled(t, nsHelm, "web", 2)
	gh, gs, gt := resourceSections(ours.must(t, "status", "web", "-n", nsOurs, "--show-resources"))
	wh, ws, wt := resourceSections(helm3.must(t, "status", "web", "-n", nsHelm, "--show-resources"))
	if diff := cmp.Diff(wh, gh); diff != "" {
		t.Errorf("head (-helm3 +ours):\n%s", diff)
	}
	if diff := cmp.Diff(ws, gs); diff != "" || len(gs) != 4 {
		t.Errorf("resource sections (-helm3 +ours):\n%s\nours: %q", diff, gs)
	}
	if diff := cmp.Diff(wt, gt); diff != "" {
		t.Errorf("tail (-helm3 +ours):\n%s", diff)
	}

	names := func(c *client, ns string) map[string][]string {
		var r struct {
			Info struct {
				Resources map[string][]struct {
					Kind     string `json:"kind"`
					Metadata struct {
						Name string `json:"name"`
					} `json:"metadata"`
				} `json:"resources"`
			} `json:"info"`
		}
		if err := json.Unmarshal([]byte(c.must(t, "status", "web", "-n", ns, "--show-resources", "-o", "json")), &r); err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for k, objs := range r.Info.Resources {
			for _, o := range objs {
				out[k] = append(out[k], o.Kind+"/"+podNames.ReplaceAllString(o.Metadata.Name, "$1-XXXXX"))
			}
			sort.Strings(out[k])
		}
		return out
	}
	got, want := names(ours, nsOurs), names(helm3, nsHelm)
	if diff := cmp.Diff(want, got); diff != "" || len(got) == 0 {
		t.Errorf("-o json info.resources (-helm3 +ours):\n%s", diff)
	}
}
