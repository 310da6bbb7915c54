package cli_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestShowValuesJSONPathMatchesHelm runs `show values --jsonpath` with
// kubectl JSONPath expressions of every kind (fields, maps and lists
// printed as JSON, wildcards, ranges, filters, slices, recursive descent,
// missing keys, unparsable templates) on every chart of the render corpus,
// with ours and real Helm 3.22: stdout, stderr and exit code must agree.
func TestShowValuesJSONPathMatchesHelm(t *testing.T) {
	h := newHarness(t)
	corpus, err := filepath.Abs("../render/testdata/charts")
	if err != nil {
		t.Fatal(err)
	}
	charts, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	// Every chart: whole values, a map, a field through a list, recursive
	// descent, a range, and a missing key.
	exprs := []string{
		"{.}",
		"{.image}",
		"{.items[*].name}",
		"{..name}",
		"{range .items[*]}{.name}{\"\\n\"}{end}",
		"before {.missing.deeper} after",
	}
	// One chart: the other constructs, and templates that do not parse.
	// ({.*} is left out: client-go walks a map in Go's random order, so
	// Helm's own output changes from run to run.)
	more := []string{
		"{$}", "{.list[-1:]}", "{.items[?(@.enabled==true)].name}", "{.a}:{.b}",
		"{.unclosed", "{range .x}", "{.a[}", "plain text",
	}
	same, total := 0, 0
	run := func(dir, e string) {
		total++
		args := []string{"show", "values", dir, "--jsonpath", e}
		ro, rh := h.ours(args...), h.helm(args...)
		if ro != rh {
			t.Errorf("%s --jsonpath %q:\nours (%d): %q %q\nhelm (%d): %q %q", filepath.Base(dir), e, ro.code, ro.stdout, ro.stderr, rh.code, rh.stdout, rh.stderr)
			return
		}
		same++
	}
	for _, c := range charts {
		for _, e := range exprs {
			run(filepath.Join(corpus, c.Name()), e)
		}
	}
	for _, e := range more {
		run(filepath.Join(corpus, "toyaml"), e)
	}
	t.Logf("%d of %d cases identical to Helm 3.22", same, total)
}
