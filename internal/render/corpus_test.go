package render_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chartd/chartd/internal/testutil/peers"
)

// corpusCase is one `helm template` invocation, run from
// testdata/charts (or the directory setup returns).
type corpusCase struct {
	name  string
	args  []string
	setup func(t *testing.T, charts string) string
	// unordered compares sorted lines: Helm itself lists schema
	// violations in random (map) order.
	unordered bool
	// outDir, when set, is a directory (relative to the work dir) whose
	// files must also be identical; setup then runs once per side.
	outDir string
}

// copyCharts copies the named corpus charts into a fresh directory.
func copyCharts(t *testing.T, charts string, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.CopyFS(filepath.Join(dir, n), os.DirFS(filepath.Join(charts, n))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runHelm(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(peers.Path(t, "helm"), args...)
	cmd.Dir = dir
	cmd.Env = peers.Env(t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helm %v: %v\n%s", args, err, out)
	}
}

// helmCreate makes a chart with real `helm create`.
func helmCreate(t *testing.T, _ string) string {
	dir := t.TempDir()
	runHelm(t, dir, "create", "mychart")
	return dir
}

// packagedSubchart replaces a subchart directory with its archive, built
// by real helm, so charts/*.tgz loading is covered.
func packagedSubchart(t *testing.T, charts string) string {
	dir := copyCharts(t, charts, "subcharts")
	sub := filepath.Join(dir, "subcharts", "charts")
	runHelm(t, sub, "package", "web")
	if err := os.RemoveAll(filepath.Join(sub, "web")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func corpus() []corpusCase {
	return []corpusCase{
		{name: "builtins", args: []string{"builtins"}},
		{name: "builtins-release", args: []string{"myrel", "builtins", "-n", "prod", "--is-upgrade"}},
		{name: "files", args: []string{"files"}},
		{name: "tpl", args: []string{"tpl"}},
		{name: "include", args: []string{"include"}},
		{name: "required", args: []string{"required"}},
		{name: "required-set", args: []string{"required", "--set", "db.host=pg"}},
		{name: "fail", args: []string{"fail"}},
		{name: "toyaml", args: []string{"toyaml"}},
		{name: "globals", args: []string{"globals"}},
		{name: "globals-set", args: []string{"globals", "--set", "global.region=ap,child.global.extra=x,child.grandchild.own=2"}},
		{name: "subcharts", args: []string{"subcharts"}},
		{name: "subcharts-null", args: []string{"subcharts", "--set", "db.user=null,web.port=null"}},
		{name: "conditions", args: []string{"conditions"}},
		{name: "conditions-set", args: []string{"conditions", "--set", "alpha.enabled=true,tags.backend=true,delta.enabled=false"}},
		{name: "conditions-nonbool", args: []string{"conditions", "--set", "alpha.enabled=yes,global.beta.enabled=false"}},
		{name: "importvalues", args: []string{"importvalues"}},
		{name: "alias", args: []string{"alias"}},
		{name: "library", args: []string{"library"}},
		{name: "libroot", args: []string{"libroot"}},
		{name: "v1req", args: []string{"v1req"}},
		{name: "v1req-on", args: []string{"v1req", "--set", "off.enabled=true"}},
		{name: "missingdep", args: []string{"missingdep"}},
		{name: "schema", args: []string{"schema"}},
		{name: "schema-error", args: []string{"schema", "--set", "replicas=0"}},
		{name: "schema-multi", args: []string{"schema", "--set", "replicas=0,name=Bad1,mode=c"}, unordered: true},
		{name: "schema-sub-error", args: []string{"schema", "--set", "sub.port=70000"}, unordered: true},
		{name: "schema-missing", args: []string{"schema", "--set", "name=null"}},
		{name: "schema-skip", args: []string{"schema", "--set", "replicas=0", "--skip-schema-validation"}},
		{name: "notes", args: []string{"notes"}},
		{name: "crds", args: []string{"crds"}},
		{name: "crds-include", args: []string{"crds", "--include-crds"}},
		{name: "hooks", args: []string{"hooks"}},
		{name: "hooks-skip-tests", args: []string{"hooks", "--skip-tests"}},
		{name: "hooks-no-hooks", args: []string{"hooks", "--no-hooks"}},
		{name: "set-values", args: []string{"setvalues",
			"-f", "setvalues/override.yaml", "-f", "setvalues/override2.yaml",
			"--set", `a.b=1,c=true,d=null,e=0,f=007,g=-12,h=1.5,i=TRUE,j=9223372036854775808`,
			"--set", `list[0]=x,list[2]=z,idx[1].name=n,nested[0][1]=q`,
			"--set", `esc\.dot=v,comma=a\,b,brace={x,y,z},empty=,emptylist={}`,
			"--set", `keep=setwins`,
			"--set-string", `s1=true,s2=42,s3.x=null`,
			"--set-json", `j1={"a":[1,2,{"b":null}]},j2="str",j3=[1,2]`,
			"--set-json", `list=[9]`,
			"--set-literal", `lit=a,b=c\d{e}`,
			"--set-file", "cert=setvalues/files/cert.pem",
		}},
		{name: "set-error-nokey", args: []string{"setvalues", "--set", "novalue"}},
		{name: "set-error-comma", args: []string{"setvalues", "--set", "a=1,b"}},
		{name: "set-error-index", args: []string{"setvalues", "--set", "a[x]=1"}},
		{name: "set-error-negative", args: []string{"setvalues", "--set", "a[-1]=1"}},
		{name: "set-error-type", args: []string{"setvalues", "--set", "keep.x=1"}},
		{name: "set-error-list", args: []string{"setvalues", "--set", "b={a,b"}},
		{name: "set-error-json", args: []string{"setvalues", "--set-json", "a={bad"}},
		{name: "set-error-listtype", args: []string{"setvalues", "--set", "a=1", "--set", "a[0]=2"}},
		{name: "kinds", args: []string{"kinds"}},
		{name: "show-only", args: []string{"kinds", "--show-only", "templates/b-more.yaml", "-s", "templates/a-*.yaml"}},
		{name: "show-only-missing", args: []string{"kinds", "--show-only", "templates/nope.yaml"}},
		{name: "show-only-sub", args: []string{"subcharts", "--show-only", "charts/web/templates/svc.yaml"}},
		{name: "parseerror", args: []string{"parseerror"}},
		{name: "parseerror2", args: []string{"parseerror2"}},
		{name: "execerror", args: []string{"execerror"}},
		{name: "execerror2", args: []string{"execerror2"}},
		{name: "execerror3", args: []string{"execerror3"}},
		{name: "yamlerror", args: []string{"yamlerror"}},
		{name: "yamlerror2", args: []string{"yamlerror2"}},
		// kubeVersion ">= 1.25.0-0" (as argo-cd and ingress-nginx require):
		// met by a released Helm's default, v1.37.0; not by v1.24.
		{name: "kubeversion-default", args: []string{"kubeversion"}},
		{name: "kubeversion-fail", args: []string{"kubeversion", "--kube-version", "v1.24.0"}},
		{name: "kubeversion-ok", args: []string{"kubeversion", "--kube-version", "v1.29.3", "--api-versions", "example.com/v1,example.com/v1/Widget"}},
		{name: "kubeversion-bad", args: []string{"kubeversion", "--kube-version", "1"}},
		{name: "novalue", args: []string{"novalue"}},
		{name: "functions", args: []string{"functions"}},
		{name: "envfunc", args: []string{"envfunc"}},
		{name: "tplerror", args: []string{"tplerror"}},
		{name: "tplparse", args: []string{"tplparse"}},
		{name: "recursion", args: []string{"recursion"}},
		{name: "requiredtpl", args: []string{"requiredtpl"}},
		{name: "nulls", args: []string{"nulls"}},
		{name: "nulls-set", args: []string{"nulls", "--set", "top.a=null,sub.stay=null,global.keep=null"}},
		{name: "nested", args: []string{"nested"}},
		{name: "nested-off", args: []string{"nested", "--set", "child.grandchild.enabled=false"}},
		{name: "nested-child-off", args: []string{"nested", "--set", "child.enabled=false"}},
		{name: "anchors", args: []string{"anchors"}},
		{name: "notemplate", args: []string{"notemplate"}},
		{name: "badtype", args: []string{"badtype"}},
		{name: "importvalues-set", args: []string{"importvalues", "--set", "myint=5,lib.exports.data.myint=7,imported.server.host=h"}},
		{name: "show-only-hook", args: []string{"hooks", "-s", "templates/tests/test-conn.yaml", "--skip-tests"}},
		{name: "show-only-hook2", args: []string{"hooks", "-s", "templates/tests/*"}},
		{name: "release-name-invalid", args: []string{"Bad_Name", "setdump"}},
		{name: "release-name-empty", args: []string{"", "setdump"}},
		{name: "release-name-long", args: []string{"a123456789012345678901234567890123456789012345678901234", "setdump"}},
		{name: "empty", args: []string{"empty"}},
		{name: "empty-show-only", args: []string{"empty", "-s", "templates/blank.yaml"}},
		{name: "show-only-crd", args: []string{"crds", "--include-crds", "-s", "crds/widget.yaml", "-s", "charts/sub/crds/*"}},
		{name: "aliasdeep", args: []string{"aliasdeep"}},
		{name: "crlf", args: []string{"crlf"}},
		{name: "textfile", args: []string{"textfile"}},
		{name: "textok", args: []string{"textok"}},
		{name: "packaged-chart", args: []string{"builtins-0.1.0.tgz"}, setup: func(t *testing.T, c string) string {
			dir := copyCharts(t, c, "builtins")
			runHelm(t, dir, "package", "builtins")
			return dir
		}},
		{name: "set-error-maptype", args: []string{"setvalues", "--set", "keep=1", "--set", "keep.x=1"}},
		{name: "set-error-nested-list", args: []string{"setvalues", "--set", "l[0]=1", "--set", "l[0][1]=2"}},
		{name: "set-error-file", args: []string{"setvalues", "--set-file", "x=nope.txt"}},
		{name: "values-file-missing", args: []string{"setvalues", "-f", "nope.yaml"}},
		{name: "values-file-bad", args: []string{"setvalues", "-f", "parseerror/templates/cm.yaml"}},
		{name: "helm-create", args: []string{"mychart"}, setup: helmCreate},
		{name: "helm-create-options", args: []string{"rel", "mychart", "--set", "ingress.enabled=true,autoscaling.enabled=true,serviceAccount.create=false,httpRoute.enabled=true", "-n", "ns1"}, setup: helmCreate},
		{name: "packaged-subchart", args: []string{"subcharts"}, setup: packagedSubchart},
		{name: "output-dir", args: []string{"hooks", "--output-dir", "out"}, outDir: "out",
			setup: func(t *testing.T, c string) string { return copyCharts(t, c, "hooks") }},
		{name: "output-dir-crds", args: []string{"rel", "crds", "--output-dir", "out", "--include-crds", "--release-name"}, outDir: "out",
			setup: func(t *testing.T, c string) string { return copyCharts(t, c, "crds") }},
		{name: "output-dir-show-only", args: []string{"kinds", "--output-dir", "out", "-s", "templates/a-many.yaml"}, outDir: "out",
			setup: func(t *testing.T, c string) string { return copyCharts(t, c, "kinds") }},
	}
}

// TestNoStaleGoldenFiles keeps testdata/golden in step with the corpus.
func TestNoStaleGoldenFiles(t *testing.T) {
	names := map[string]bool{}
	for _, tc := range corpus() {
		if names[tc.name] {
			t.Errorf("duplicate case %s", tc.name)
		}
		names[tc.name] = true
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := strings.TrimSuffix(e.Name(), ".txt"); !names[n] {
			t.Errorf("golden file %s has no corpus case", e.Name())
		}
	}
}
