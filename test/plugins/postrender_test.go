package plugins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTemplatePostRendererLikeHelm3: template --post-renderer runs an
// executable on the manifests (not the hooks) and prints its output as
// Helm 3.22 does, flags and failures included.
func TestTemplatePostRendererLikeHelm3(t *testing.T) {
	h := newHome(t)
	h.must(h.helm3("create", filepath.Join(h.dir, "demo")))
	writeFiles(t, h.dir, map[string]string{
		"pr.sh":              "#!/bin/sh\necho \"# args: $*\"\nsed s/release-name/RENAMED/g\n",
		"bad.sh":             "#!/bin/sh\necho oops >&2\nexit 2\n",
		"tiny.sh":            "#!/bin/sh\nprintf 'kind: Foo\\n'\n",
		"demo/crds/crd.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: release-name.example.com\n",
	})
	for _, args := range [][]string{
		{"--post-renderer", "./pr.sh", "--post-renderer-args", "a", "--post-renderer-args", "b c"},
		{"--post-renderer-args", "x", "--post-renderer", "./pr.sh", "--include-crds"},
		{"--post-renderer", "./bad.sh"},
		{"--post-renderer", "nosuch"},
		{"--post-renderer", "./tiny.sh"},
		{"--post-renderer", "./tiny.sh", "-s", "templates/service.yaml"},
		{"--post-renderer", "./tiny.sh", "-s", "templates/tests/test-connection.yaml"},
		{"--post-renderer", "./pr.sh", "--output-dir", "out"},
		{"--post-renderer", "./pr.sh", "--skip-tests", "--set", "serviceAccount.create=false"},
	} {
		all := append([]string{"template", "demo"}, args...)
		os.RemoveAll(filepath.Join(h.dir, "out"))
		helm := h.helm3(all...)
		os.RemoveAll(filepath.Join(h.dir, "out"))
		ours := h.ours(all...)
		if diff := cmp.Diff(helm, ours); diff != "" {
			t.Errorf("helm %s (-helm +ours):\n%s", strings.Join(all, " "), diff)
		}
		if ours.Stdout == "" && ours.Stderr == "" {
			t.Errorf("helm %s printed nothing", strings.Join(all, " "))
		}
	}
}
