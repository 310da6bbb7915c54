package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// templateWarnCases add user values whose types conflict with the
// charts' (a scalar over a table, a table over a scalar, globals).
var templateWarnCases = [][]string{
	{"typeconflict", "--set", "sub.config.level=debug"},
	{"typeconflict", "--set", "top=flat"},
	{"typeconflict", "--set", "top.table=flat,sub.extra.b=2"},
	{"globals-conflict", "--set", "global.image=flat"},
	{"globals-conflict", "--set", "kid.global.storageClass.name=x"},
	{"webapp", "--set", "image=nginx"},
	{"webapp", "--set", "replicaCount.n=1"},
	{"deprecated-chart", "--set", "a.b=c"},
	{"subcharts", "--set", "global=flat"},
	{"conditions", "--set", "tags.x=notbool"},
	{"depwarn", "--set", "sub.cfg.a=1"},
	{"depwarn", "--set", "tags.t=true,on=false"},
}

// TestTemplateWarningsMatchHelm: `helm template` prints Helm's warnings
// on stderr, the deprecated-chart warning and the log lines of values
// coalescing and dependency processing, on every chart of both corpora
// and on user values that conflict in type with the charts'. Helm's log
// lines come in map order, so stderr is compared as sorted lines.
func TestTemplateWarningsMatchHelm(t *testing.T) {
	h := newHarness(t)
	var cases [][]string
	dirs := map[string]string{}
	for _, args := range lintCases(t) {
		if len(args) == 2 {
			dirs[filepath.Base(args[1])] = args[1]
			cases = append(cases, []string{"template", "x", args[1]})
		}
	}
	for _, x := range templateWarnCases {
		dir, ok := dirs[x[0]]
		if !ok {
			t.Fatalf("no chart %s", x[0])
		}
		cases = append(cases, append([]string{"template", "x", dir}, x[1:]...))
	}
	same, warned := 0, 0
	for _, args := range cases {
		ro, rh := h.ours(args...), h.helm(args...)
		if strings.Contains(rh.stderr, "WARNING: This chart is deprecated") || strings.Contains(rh.stderr, ".go:") {
			warned++
		}
		if sortedLines(ro.stderr) == sortedLines(rh.stderr) && ro.code == rh.code {
			same++
			continue
		}
		t.Errorf("helm %s:\nours (exit %d):\n%s\nhelm (exit %d):\n%s", strings.Join(args, " "), ro.code, ro.stderr, rh.code, rh.stderr)
	}
	t.Logf("template: %d cases (%d where Helm warns); stderr and exit code identical in %d", len(cases), warned, same)
}
