package cli_test

import (
	"strings"
	"testing"
)

// flagsSection is the "Flags:" block of a --help text.
func flagsSection(help string) string {
	i := strings.Index(help, "\nFlags:\n")
	if i < 0 {
		return ""
	}
	s := help[i:]
	if j := strings.Index(s, "\nGlobal Flags:\n"); j >= 0 {
		s = s[:j]
	}
	return s
}

// TestFlagsMatchHelm: every command takes Helm's flags, with Helm's
// shorthands, types, defaults and help texts, and the same global flags.
func TestFlagsMatchHelm(t *testing.T) {
	h := newHarness(t)
	// Flags we add: to `push` for ChartMuseum-API repositories, to `repo
	// add` for OCI repositories, and a deadline for `search hub`.
	extra := map[string][]string{
		"push": {"--context-path", "--force", "--timeout", "--version", "--app-version", "--access-token", "--auth-header"}, "repo add": {"--plain-http"}, "search hub": {"--timeout"},
	}
	for _, c := range []string{
		"repo add", "repo update", "repo list", "repo remove", "repo index", "search repo", "search hub", "pull", "push",
		"registry login", "registry logout", "create", "package", "show chart", "show values", "show all",
		"verify", "env", "version", "completion bash", "completion zsh", "template",
	} {
		args := append(strings.Fields(c), "--help")
		ro, rh := h.must(h.ours(args...)), h.must(h.helm(args...))
		var kept []string
		for _, line := range strings.Split(flagsSection(ro.stdout), "\n") {
			drop := false
			for _, x := range extra[c] {
				drop = drop || strings.Contains(line, x+" ")
			}
			if !drop {
				kept = append(kept, line)
			}
		}
		if got, want := strings.Join(kept, "\n"), flagsSection(rh.stdout); got != want {
			t.Errorf("helm %s --help flags:\nours:\n%s\nhelm:\n%s", c, got, want)
		}
		gi, gh := strings.Index(ro.stdout, "Global Flags:"), strings.Index(rh.stdout, "Global Flags:")
		if gi < 0 || gh < 0 || ro.stdout[gi:] != rh.stdout[gh:] {
			t.Errorf("helm %s --help global flags differ", c)
		}
	}
}

// TestErrorsLikeHelm: usage errors print "Error: ..." on stderr and exit 1.
func TestErrorsLikeHelm(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{
		{"nosuchcommand"},
		{"repo", "add", "onlyname"},
		{"repo", "remove"},
		{"repo", "list"},
		{"repo", "update"},
		{"search", "repo"},
		{"pull"},
		{"push", "x.tgz"},
		{"create"},
		{"env", "a", "b"},
		{"version", "extra"},
		{"repo", "list", "-o", "xml"},
		{"show", "chart"},
		{"registry", "login"},
		{"pull", "--nosuchflag", "x"},
	} {
		ro, rh := h.ours(args...), h.helm(args...)
		if ro != rh {
			t.Errorf("helm %s:\nours %+v\nhelm %+v", strings.Join(args, " "), ro, rh)
		}
	}
}

// TestGolden pins outputs that do not depend on the environment.
func TestGolden(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"env_cache_home", []string{"env", "HELM_REPOSITORY_CONFIG"}},
		{"version_template", []string{"version", "--template", "{{.Version}}"}},
		{"repo_list_empty_json", []string{"repo", "list", "-o", "json"}},
		{"repo_list_empty_yaml", []string{"repo", "list", "-o", "yaml"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := h.ours(tt.args...)
			got := strings.ReplaceAll(r.stdout+r.stderr, h.dir, "$DIR")
			golden(t, tt.name, got)
		})
	}
}

// TestCompletion: every shell gets a script for the helm command.
func TestCompletion(t *testing.T) {
	h := newHarness(t)
	for shell, want := range map[string]string{
		"bash":       "__start_helm",
		"zsh":        "compdef _helm helm",
		"fish":       "complete -c helm",
		"powershell": "Register-ArgumentCompleter",
	} {
		r := h.must(h.ours("completion", shell))
		if !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s lacks %q", shell, want)
		}
		if nd := h.must(h.ours("completion", shell, "--no-descriptions")); nd.stdout == "" {
			t.Errorf("completion %s --no-descriptions is empty", shell)
		}
	}
	// An unknown shell prints the help, as Helm does.
	if ro, rh := h.ours("completion", "tcsh"), h.helm("completion", "tcsh"); ro != rh {
		t.Errorf("completion tcsh:\nours %+v\nhelm %+v", ro, rh)
	}
}
