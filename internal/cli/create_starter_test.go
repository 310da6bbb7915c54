package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestCreateStarterMatchesHelm: `helm create --starter` writes the same
// tree as real Helm 3.22: .helmignore copied with its dot (and applied),
// no empty charts/, helm create's Chart.yaml (the new name, appVersion
// 0.1.0), <CHARTNAME> replaced in templates and values.yaml only, and
// subcharts saved as archives (compared by their entries: Helm stamps
// them with the time of the run).
func TestCreateStarterMatchesHelm(t *testing.T) {
	h := newHarness(t)
	starters := filepath.Join(h.vars["XDG_DATA_HOME"], "helm", "starters")
	writeFiles(t, filepath.Join(starters, "basic"), map[string]string{
		"Chart.yaml":                    "apiVersion: v2\nname: basic\nversion: 9.9.9\nappVersion: \"7.7\"\ndescription: a starter\n",
		"values.yaml":                   "# values of <CHARTNAME>\nname: <CHARTNAME>\n",
		".helmignore":                   "secret.txt\n",
		"secret.txt":                    "not copied\n",
		"README.md":                     "# <CHARTNAME> stays in files\n",
		"templates/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: <CHARTNAME>\n",
		"templates/_helpers.tpl":        "{{- define \"<CHARTNAME>.name\" -}}x{{- end }}\n",
		"values.schema.json":            "{\"type\": \"object\"}\n",
		"files/.hidden":                 "dot\n",
		"charts/sub/Chart.yaml":         "apiVersion: v2\nname: sub\nversion: 0.3.0\n",
		"charts/sub/templates/svc.yaml": "kind: Service\n",
	})
	writeFiles(t, filepath.Join(h.dir, "abs-starter"), map[string]string{
		"Chart.yaml":          "apiVersion: v2\nname: abs\nversion: 1.0.0\n",
		"templates/x.yaml":    "name: <CHARTNAME>\n",
		"templates/.keep":     "",
		"templates/NOTES.txt": "<CHARTNAME> notes\n",
	})
	cases := [][]string{
		{"--starter", "basic"},
		{"-p", filepath.Join(h.dir, "abs-starter")},
		{"--starter", "missing"},
	}
	same := 0
	for i, flags := range cases {
		var got [2]string
		for j, run := range []func(...string) result{h.helm, h.ours} {
			dir := filepath.Join(h.dir, fmt.Sprintf("out%d-%d", i, j), "mychart")
			r := run(append([]string{"create", dir}, flags...)...)
			got[j] = fmt.Sprintf("exit %d\n%s%s\n%s", r.code, strings.ReplaceAll(r.stdout, dir, "DIR"),
				strings.ReplaceAll(strings.ReplaceAll(r.stderr, dir, "DIR"), filepath.Dir(dir), "PARENT"), chartTree(t, dir))
		}
		if got[0] != got[1] {
			t.Errorf("create %s:\nhelm:\n%s\nours:\n%s", strings.Join(flags, " "), got[0], got[1])
			continue
		}
		same++
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, len(cases))
}

// chartTree lists the files under dir with their contents' digests, and
// the entries of archives instead of their bytes.
func chartTree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.IsDir() {
			lines = append(lines, rel+"/")
			return nil
		}
		b, _ := os.ReadFile(p)
		if strings.HasSuffix(p, ".tgz") {
			lines = append(lines, rel+" "+archiveEntries(t, b))
			return nil
		}
		lines = append(lines, fmt.Sprintf("%s %s %x", rel, fi.Mode(), sha256.Sum256(b)))
		if filepath.Base(p) == "Chart.yaml" {
			lines = append(lines, string(b))
		}
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func archiveEntries(t *testing.T, data []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return "not gzip"
	}
	tr := tar.NewReader(zr)
	var out []string
	for {
		hd, err := tr.Next()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(tr)
		out = append(out, fmt.Sprintf("%s:%x", hd.Name, sha256.Sum256(b)))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}
