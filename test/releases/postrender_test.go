package releases

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// TestPostRendererLikeHelm3: install and upgrade --post-renderer apply and
// store what the post-renderer made of the manifest, as Helm 3.22 does, and
// fail as it fails.
func TestPostRendererLikeHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	chart := writeChart(t, "web", nil)
	dir := t.TempDir()
	pr, bad := filepath.Join(dir, "pr.sh"), filepath.Join(dir, "bad.sh")
	if err := os.WriteFile(pr, []byte("#!/bin/sh\necho \"# args: $*\"\nsed \"s/nginx:1.0/nginx:$1/\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("#!/bin/sh\necho broken >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	nsOurs, nsHelm := cluster.Namespace(t), cluster.Namespace(t)
	manifest := func(c *client, ns string) string {
		return c.must(t, "get", "manifest", "web", "-n", ns)
	}
	for _, step := range [][]string{
		{"install", "web", chart, "--post-renderer", pr, "--post-renderer-args", "post1"},
		{"upgrade", "web", chart, "--post-renderer", pr, "--post-renderer-args", "post2"},
	} {
		ours.must(t, append(step, "-n", nsOurs)...)
		helm3.must(t, append(step, "-n", nsHelm)...)
		if got, want := manifest(ours, nsOurs), manifest(helm3, nsHelm); got != want {
			t.Errorf("%s: stored manifest\nours:\n%s\nhelm 3.22:\n%s", step[0], got, want)
		}
	}
	cm, err := cluster.Clientset(t).CoreV1().ConfigMaps(nsOurs).Get(context.Background(), "web-cm", metav1.GetOptions{})
	if err != nil || cm.Data["image"] != "nginx:post2" {
		t.Errorf("live ConfigMap %v (%v): want the post-rendered image", cm.Data, err)
	}
	if m := manifest(ours, nsOurs); !strings.Contains(m, "# args: post2") {
		t.Errorf("the stored manifest is not the post-renderer's:\n%s", m)
	}
	for _, args := range [][]string{
		{"upgrade", "web", chart, "--post-renderer", bad},
		{"install", "other", chart, "--post-renderer", bad},
		{"install", "other", chart, "--post-renderer", "no-such-renderer"},
	} {
		got, want := ours.run(t, append(args, "-n", nsOurs)...), helm3.run(t, append(args, "-n", nsHelm)...)
		got.stderr = strings.ReplaceAll(got.stderr, nsOurs, "NS")
		want.stderr = strings.ReplaceAll(want.stderr, nsHelm, "NS")
		if got != want || got.code == 0 {
			t.Errorf("helm %s:\nours (exit %d): %q\nhelm 3.22 (exit %d): %q", strings.Join(args, " "), got.code, got.stderr, want.code, want.stderr)
		}
	}
}
