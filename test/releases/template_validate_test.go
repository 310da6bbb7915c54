package releases

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// TestTemplateValidateMatchesHelm3: `helm template --validate` is an
// install dry run against the cluster, as in Helm: .Capabilities are the
// cluster's, kinds the cluster does not serve and objects another owner
// holds are refused, and the output otherwise is what Helm prints.
func TestTemplateValidateMatchesHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	ns := cluster.Namespace(t)
	caps := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-caps\ndata:\n" +
		"  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n" +
		"  flowcontrol: {{ .Capabilities.APIVersions.Has \"flowcontrol.apiserver.k8s.io/v1beta3\" | quote }}\n"
	good := writeChart(t, "web", map[string]string{"templates/caps.yaml": caps})
	unknown := writeChart(t, "odd", map[string]string{"templates/widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"})
	// The cluster is older than the Kubernetes helm template assumes.
	newer := writeChart(t, "newer", map[string]string{"Chart.yaml": "apiVersion: v2\nname: newer\nversion: 0.1.0\nkubeVersion: \">= 1.37.0-0\"\n"})
	taken := writeChart(t, "taken", nil)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "taken-cm", Namespace: ns}}
	if _, err := cluster.Clientset(t).CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	same := 0
	cases := [][]string{
		{"template", "web", good, "-n", ns},
		{"template", "web", good, "-n", ns, "--validate"},
		{"template", "odd", unknown, "-n", ns},
		{"template", "odd", unknown, "-n", ns, "--validate"},
		{"template", "newer", newer, "-n", ns},
		{"template", "newer", newer, "-n", ns, "--validate"},
		{"template", "taken", taken, "-n", ns, "--validate"},
		{"template", "taken", taken, "-n", ns, "--validate", "--take-ownership"},
	}
	for _, args := range cases {
		got, want := ours.run(t, args...), helm3.run(t, args...)
		if got != want {
			t.Errorf("helm %s:\nours (%d):\n%s%s\nhelm 3.22 (%d):\n%s%s", strings.Join(args, " "), got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, len(cases))
	// The comparison means something only if --validate saw the cluster.
	plain, validated := ours.must(t, "template", "web", good, "-n", ns), ours.must(t, "template", "web", good, "-n", ns, "--validate")
	if plain == validated {
		t.Errorf("--validate rendered with helm template's defaults, not the cluster's:\n%s", validated)
	}
}
