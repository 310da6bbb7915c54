package render_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chartd/chartd/chart"
	"github.com/chartd/chartd/engine"
	"github.com/chartd/chartd/internal/render"
	"github.com/chartd/chartd/internal/testutil/peers"
	"github.com/chartd/chartd/values"
)

var update = flag.Bool("update", false, "rewrite golden files from real helm")

// helmTemplate runs our pipeline the way `helm template` wires it, from
// the same arguments real helm gets, and returns stdout or the error
// message as helm prints it ("Error: ...\n").
func helmTemplate(ctx context.Context, t testing.TB, dir string, args []string, helmVersion string) string {
	t.Helper()
	var (
		vo       values.Options
		opt      = render.Options{ReleaseName: "release-name"}
		popt     render.PrintOptions
		pos      []string
		kubeVers string
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string { i++; return args[i] }
		switch a {
		case "-f", "--values":
			vo.ValueFiles = append(vo.ValueFiles, next())
		case "--set":
			vo.Values = append(vo.Values, next())
		case "--set-string":
			vo.StringValues = append(vo.StringValues, next())
		case "--set-file":
			vo.FileValues = append(vo.FileValues, next())
		case "--set-json":
			vo.JSONValues = append(vo.JSONValues, next())
		case "--set-literal":
			vo.LiteralValues = append(vo.LiteralValues, next())
		case "-s", "--show-only":
			popt.ShowOnly = append(popt.ShowOnly, next())
		case "--include-crds":
			popt.IncludeCRDs = true
		case "--skip-tests":
			popt.SkipTests = true
		case "--no-hooks":
			popt.DisableHooks = true
		case "--is-upgrade":
			opt.IsUpgrade = true
		case "--kube-version":
			kubeVers = next()
		case "-a", "--api-versions":
			opt.APIVersions = append(opt.APIVersions, strings.Split(next(), ",")...)
		case "-n", "--namespace":
			opt.Namespace = next()
		case "--skip-schema-validation":
			opt.SkipSchemaValidation = true
		case "--output-dir":
			popt.OutputDir = next()
		case "--release-name":
			popt.UseReleaseName = true
		default:
			if strings.HasPrefix(a, "-") {
				t.Fatalf("helmTemplate: unsupported flag %s", a)
			}
			pos = append(pos, a)
		}
	}
	chartPath := pos[len(pos)-1]
	if len(pos) == 2 {
		opt.ReleaseName = pos[0]
	}
	caps := engine.DefaultCapabilities()
	caps.HelmVersion.Version = helmVersion
	opt.Capabilities = caps

	var out bytes.Buffer
	err := func() error {
		if kubeVers != "" {
			kv, err := engine.ParseKubeVersion(kubeVers)
			if err != nil {
				return errors.New("invalid kube version '" + kubeVers + "': " + err.Error())
			}
			opt.KubeVersion = kv
		}
		vals, err := vo.MergeValues(ctx, dirReader(dir))
		if err != nil {
			return err
		}
		ch, err := chart.Load(ctx, filepath.Join(dir, chartPath))
		if err != nil {
			return err
		}
		res, err := render.Template(ctx, ch, vals, opt)
		if err != nil {
			return render.TemplateCommandError(err)
		}
		popt.Dir = dir
		return render.Print(&out, res, popt)
	}()
	if err != nil {
		return "Error: " + err.Error() + "\n"
	}
	return out.String()
}

// dirReader reads files relative to a directory, as helm run there would.
type dirReader string

func (d dirReader) ReadFile(ctx context.Context, name string) ([]byte, error) {
	if filepath.IsAbs(name) {
		return values.OSReader{}.ReadFile(ctx, name)
	}
	b, err := os.ReadFile(filepath.Join(string(d), name))
	var pe *os.PathError
	if errors.As(err, &pe) {
		pe.Path = name // report the path as given, like helm
	}
	return b, err
}

// readTree maps the relative paths of a directory's files to contents.
func readTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		m[rel] = string(b)
		return err
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return m
}

func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// realHelm runs real helm template and returns stdout, or stderr's last
// line block (the "Error: ..." message) when it fails.
func realHelm(t testing.TB, dir string, args []string) string {
	t.Helper()
	bin := peers.Path(t, "helm")
	home := t.TempDir()
	cmd := exec.Command(bin, append([]string{"template"}, args...)...)
	cmd.Dir = dir
	cmd.Env = peers.Env(home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running helm: %v", err)
		}
		// Warnings (log lines) may precede the error; keep the error.
		s := stderr.String()
		if i := strings.Index(s, "Error: "); i >= 0 {
			return s[i:]
		}
		return s
	}
	return stdout.String()
}

func helmVersion(t testing.TB) string {
	t.Helper()
	cmd := exec.Command(peers.Path(t, "helm"), "version", "--template", "{{ .Version }}")
	cmd.Env = peers.Env(t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm version: %v", err)
	}
	return string(out)
}

// TestHelmTemplateCorpus renders every case with real helm (live) and with
// ours and requires identical output; golden files keep a reviewable record
// and catch a changed peer.
func TestHelmTemplateCorpus(t *testing.T) {
	ctx := context.Background()
	dir, err := filepath.Abs("testdata/charts")
	if err != nil {
		t.Fatal(err)
	}
	hv := helmVersion(t)
	for _, tc := range corpus() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := tc.args
			work := dir
			if tc.setup != nil {
				work = tc.setup(t, dir)
			}
			want := realHelm(t, work, args)
			ours := work
			if tc.outDir != "" {
				ours = tc.setup(t, dir)
			}
			got := helmTemplate(ctx, t, ours, args, hv)
			if tc.outDir != "" {
				if diff := cmp.Diff(readTree(t, filepath.Join(work, tc.outDir)), readTree(t, filepath.Join(ours, tc.outDir))); diff != "" {
					t.Errorf("files in %s (-helm +ours):\n%s", tc.outDir, diff)
				}
			}
			golden := filepath.Join("testdata", "golden", tc.name+".txt")
			if *update {
				if err := os.WriteFile(golden, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			g, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("golden: %v (run with -update)", err)
			}
			gs := string(g)
			if tc.unordered {
				gs, want, got = sortedLines(gs), sortedLines(want), sortedLines(got)
			}
			if diff := cmp.Diff(gs, want); diff != "" {
				t.Errorf("real helm no longer matches %s (-golden +helm):\n%s", golden, diff)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("helm template %s (-helm +ours):\n%s", strings.Join(args, " "), diff)
			}
		})
	}
}
