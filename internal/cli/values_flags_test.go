package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestValuesSourcesMatchHelm: -f with an http(s) URL (Helm 3.22 and 4.3
// download it), multi-document values files and --set-json with a whole
// JSON object (Helm 4.3 merges them). Each case is compared with the Helm
// that has the feature: stdout, stderr and exit code.
func TestValuesSourcesMatchHelm(t *testing.T) {
	h := newHarness(t)
	writeFiles(t, h.dir, map[string]string{
		"c/Chart.yaml":          "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"c/values.yaml":         "a: 1\nb: {c: 2}\n",
		"c/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  v: {{ toJson .Values | quote }}\n",
		"web/one.yaml":          "b: {d: 3}\nurl: yes\n",
		"web/multi.yaml":        "x: 1\nb: {d: 3}\n---\nx: 2\nlist: [1, 2]\n---\n# empty\n---\nb: {c: null}\n",
		"local/multi.yaml":      "a: 5\n---\na: 6\nb: {e: 7}",
		"web/bad.yaml":          "a: [\n",
		"local/set-json-f.yaml": "j: {k: 1}\n",
	})
	srv := fileServer(t, filepath.Join(h.dir, "web"))
	c, local := filepath.Join(h.dir, "c"), filepath.Join(h.dir, "local")
	cases := []struct {
		peer string
		args []string
	}{
		{"helm", []string{"-f", srv.URL + "/one.yaml"}},
		{"helm", []string{"-f", srv.URL + "/missing.yaml"}},
		{"helm", []string{"-f", srv.URL + "/bad.yaml"}},
		{"helm", []string{"--set-file", "f=" + srv.URL + "/one.yaml"}},
		{"helm", []string{"--set-json", "j.k=[1,2]"}},
		{"helm4", []string{"-f", srv.URL + "/multi.yaml"}},
		{"helm4", []string{"-f", filepath.Join(local, "multi.yaml")}},
		{"helm4", []string{"-f", filepath.Join(local, "set-json-f.yaml"), "--set-json", `{"j":{"l":2},"b":{"c":null},"n":1.5}`, "--set", "j.m=3"}},
		{"helm4", []string{"--set-json", `{"a":`}},
		{"helm4", []string{"--set-json", ` {"q": {"x": [true]}}`, "--set-json", "q.y=1"}},
	}
	same := 0
	for _, tt := range cases {
		args := append([]string{"template", "r", c}, tt.args...)
		rp, ro := h.peer(tt.peer, nil, args...), h.ours(args...)
		if rp != ro {
			t.Errorf("%s %s:\nours (%d):\n%s%s\n%s (%d):\n%s%s", tt.peer, strings.Join(tt.args, " "), ro.code, ro.stdout, ro.stderr, tt.peer, rp.code, rp.stdout, rp.stderr)
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to real Helm", same, len(cases))
}
