package releases

import (
	"strings"
	"testing"
)

// flagLines are the "Flags:" lines of a --help text, by flag name.
func flagLines(help string) map[string]string {
	i := strings.Index(help, "\nFlags:\n")
	if i < 0 {
		return nil
	}
	s := help[i+len("\nFlags:\n"):]
	if j := strings.Index(s, "\n\nGlobal Flags:\n"); j >= 0 {
		s = s[:j]
	}
	out := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		for _, w := range f {
			if strings.HasPrefix(w, "--") {
				name, _, _ := strings.Cut(w, "[")
				out[name] = strings.Join(f, " ") // column widths differ with the flag set
				break
			}
		}
	}
	return out
}

// The release commands take Helm 3.22's flags with Helm's help texts;
// the only ones missing are those of the release lifecycle (hooks,
// waiting, atomic) and of the client-gaps issue, listed here.
func TestFlagsMatchHelm3(t *testing.T) {
	ours, helm3, _ := clients(t)
	later := map[string][]string{
		"install":   {"--atomic", "--no-hooks", "--post-renderer", "--post-renderer-args", "--timeout", "--wait", "--wait-for-jobs"},
		"upgrade":   {"--atomic", "--cleanup-on-fail", "--no-hooks", "--post-renderer", "--post-renderer-args", "--timeout", "--wait", "--wait-for-jobs"},
		"rollback":  {"--cleanup-on-fail", "--no-hooks", "--recreate-pods", "--timeout", "--wait", "--wait-for-jobs"},
		"uninstall": {"--no-hooks", "--timeout", "--wait"},
		"status":    {"--show-resources"},
	}
	for _, c := range []string{"install", "upgrade", "rollback", "uninstall", "list", "status", "history",
		"get all", "get values", "get manifest", "get notes", "get hooks", "get metadata"} {
		args := append(strings.Fields(c), "--help")
		got, want := flagLines(ours.must(t, args...)), flagLines(helm3.must(t, args...))
		if len(want) == 0 {
			t.Fatalf("helm %s --help: no flags parsed", c)
		}
		for _, f := range later[c] {
			if _, ok := got[f]; ok {
				t.Errorf("helm %s: %s is now implemented: drop it from the list", c, f)
			}
			delete(want, f)
		}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("helm %s %s:\nours: %q\nhelm: %q", c, name, got[name], w)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("helm %s: ours has %s, Helm 3.22 has not", c, name)
			}
		}
	}
}
