package cli_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// lintCorpora are the chart directories the lint comparison walks: the
// render corpus and the lint package's hand-written charts.
var lintCorpora = []string{
	filepath.Join("..", "render", "testdata", "charts"),
	filepath.Join("..", "..", "lint", "testdata", "charts"),
}

// lintExtra are invocations beyond `lint C` and `lint C --strict`, for
// flags whose effect only some charts show.
var lintExtra = [][]string{
	{"deprecated-apis", "--kube-version", "1.20.0"},
	{"deprecated-apis", "--kube-version", "1.25.0", "--strict"},
	{"deprecated-apis", "--quiet"},
	{"webapp", "--with-subcharts"},
	{"webapp", "--with-subcharts", "--strict"},
	{"webapp-tgz", "--with-subcharts"},
	{"webapp-tgz", "--with-subcharts", "--quiet"},
	{"no-selector", "--quiet"},
	{"depwarn", "--set", "sub.cfg.a=1"},
	{"typeconflict", "--with-subcharts", "--set", "sub.config.level=debug"},
	{"typeconflict", "--set", "top.table=flat"},
	{"schema-fail", "--set", "replicas=3"},
	{"schema-fail", "--skip-schema-validation"},
	{"required-vals", "--set", "name=x,auth.password=y", "--strict"},
	{"kubever-unmet", "--kube-version", "1.19.0"},
	{"version-zero", "--quiet"},
	{"common", "--quiet", "--strict"},
}

// lintCases lists every comparison: each chart plain and --strict, then
// the extra invocations.
func lintCases(t *testing.T) [][]string {
	t.Helper()
	dirs := map[string]string{}
	var names []string
	for _, corpus := range lintCorpora {
		entries, err := os.ReadDir(corpus)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			abs, err := filepath.Abs(filepath.Join(corpus, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if _, dup := dirs[e.Name()]; dup {
				t.Fatalf("chart %s is in two corpora", e.Name())
			}
			dirs[e.Name()] = abs
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var cases [][]string
	for _, n := range names {
		cases = append(cases, []string{"lint", dirs[n]}, []string{"lint", dirs[n], "--strict"})
	}
	for _, x := range lintExtra {
		dir, ok := dirs[x[0]]
		if !ok {
			t.Fatalf("no chart %s", x[0])
		}
		cases = append(cases, append([]string{"lint", dir}, x[1:]...))
	}
	return cases
}

// lintUnordered are charts whose report Helm prints in a varying order:
// its schema violations come out of a map.
var lintUnordered = map[string]bool{"schema-null": true}

// lintVersionSkew are report lines only we print: our k8s.io/api (v0.35)
// still registers types that Helm 3.22's (v0.37) dropped, and the
// deprecation rule reads the types' own lifecycle.
var lintVersionSkew = []string{
	"autoscaling/v2beta2 HorizontalPodAutoscaler is deprecated in v1.23+",
}

// sortedLines is s's lines in order, for outputs Helm orders randomly.
func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// sortedViolations is sortedLines with each schema violation on a line of
// its own (the first follows its rule's prefix).
func sortedViolations(s string) string {
	return sortedLines(strings.ReplaceAll(s, ": - at ", ":\n- at "))
}

// withoutSkew drops the lines lintVersionSkew names.
func withoutSkew(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		skew := false
		for _, k := range lintVersionSkew {
			skew = skew || strings.Contains(l, k)
		}
		if !skew {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestLintCorpusMatchesHelm runs our lint and real Helm 3.22's on every
// chart of both corpora and compares the report (stdout) with the exit
// code, and stderr (Helm's log lines, which come in map order, so sorted;
// and the error summary).
func TestLintCorpusMatchesHelm(t *testing.T) {
	h := newHarness(t)
	cases := lintCases(t)
	same, reordered, skewed, sameStderr := 0, 0, 0, 0
	renderCases, renderSame := 0, 0
	for _, args := range cases {
		ro, rh := h.ours(args...), h.helm(args...)
		if strings.Contains(args[1], filepath.Join("render", "testdata")) {
			renderCases++
			if ro.code == rh.code && ro.stdout == rh.stdout && sortedLines(ro.stderr) == sortedLines(rh.stderr) {
				renderSame++
			}
		}
		name := strings.Join(args[1:], " ")
		chart := filepath.Base(args[1])
		switch {
		case ro.code != rh.code:
			t.Errorf("helm lint %s: exit %d, helm %d\nours:\n%s\nhelm:\n%s", name, ro.code, rh.code, ro.stdout, rh.stdout)
		case ro.stdout == rh.stdout:
			same++
		case lintUnordered[chart] && sortedViolations(ro.stdout) == sortedViolations(rh.stdout):
			reordered++
		case withoutSkew(ro.stdout) == rh.stdout:
			skewed++
		default:
			t.Errorf("helm lint %s: report differs\nours:\n%s\nhelm:\n%s", name, ro.stdout, rh.stdout)
		}
		if sortedLines(ro.stderr) == sortedLines(rh.stderr) {
			sameStderr++
		} else {
			t.Errorf("helm lint %s: stderr differs\nours:\n%s\nhelm:\n%s", name, ro.stderr, rh.stderr)
		}
	}
	t.Logf("lint, render corpus alone: %d cases, report, exit code and stderr identical in %d", renderCases, renderSame)
	t.Logf("lint: %d cases; report and exit code identical in %d, identical up to Helm's random order in %d, apart from the k8s.io/api skew in %d; stderr identical (as sorted lines) in %d",
		len(cases), same, reordered, skewed, sameStderr)
}
