package intake

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPath(t *testing.T) {
	for _, tt := range []struct {
		path string
		ok   bool
	}{
		{"", true},
		{"org", true},
		{"org/team", true},
		{"a.b/c_d/e__f/g-h/i---j", true},
		{"v2x", true},
		{"Org", false},            // upper case
		{"org/", false},           // empty segment
		{"/org", false},           // empty segment
		{"org//team", false},      // empty segment
		{"-org", false},           // separator first
		{"org-", false},           // separator last
		{"o..rg", false},          // two dots
		{"o___rg", false},         // three underscores
		{"org\x00x", false},       // NUL
		{"org\nx", false},         // LF
		{"org x", false},          // space
		{"localhost:5000", false}, // a host is not a path component
		{"example.com", true},     // but a dotted component is
		{"api", false},            // reserved at any depth
		{"org/charts", false},
		{"org/index.yaml", false},
		{"v2/org", false},
		{"org/keys", false},
		{"metrics", false},
		{strings.Repeat("a", 300), false},
	} {
		err := CheckPath(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPath(%q) = %v, want ok=%v", tt.path, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("CheckPath(%q) = %v, not an ErrInvalidName", tt.path, err)
		}
	}
}

func TestCheckChartName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"nginx", true},
		{"my-chart", true},
		{"my_chart", true},
		{"my.chart2", true},
		{"charts", true}, // a chart name is no route segment
		{"api", true},
		{strings.Repeat("a", MaxChartName), true},
		{strings.Repeat("a", MaxChartName+1), false},
		{"MyChart", false}, // Helm allows it; OCI does not
		{"my chart", false},
		{"-chart", false},
		{"chart-", false},
		{"a/b", false},
		{"", false},
		{"ünïcode", false},
	} {
		err := CheckChartName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("CheckChartName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("CheckChartName(%q) = %v, not an ErrInvalidName", tt.name, err)
		}
	}
	if err := CheckChartName("MyChart"); err == nil || !strings.Contains(err.Error(), "OCI") {
		t.Errorf("the message does not say why: %v", err)
	}
}

func TestCheckRepository(t *testing.T) {
	long := strings.Repeat("p", 120) + "/" + strings.Repeat("q", 120)
	if err := CheckRepository(long, "chart"); err != nil {
		t.Errorf("249 bytes: %v", err)
	}
	if err := CheckRepository(long, strings.Repeat("c", 20)); !errors.Is(err, ErrInvalidName) {
		t.Errorf("a repository of more than 255 bytes: %v", err)
	}
	if err := CheckRepository("api", "x"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("reserved path: %v", err)
	}
}

func TestCheckVersion(t *testing.T) {
	if err := CheckVersion("1.0.0+build.1"); err != nil {
		t.Error(err)
	}
	long := "1.0.0-" + strings.Repeat("a", 130)
	if err := CheckVersion(long); !errors.Is(err, ErrInvalidVersion) {
		t.Errorf("a version whose tag is over 128 characters: %v", err)
	}
}

// FuzzCheckPath: an accepted path is one every protocol can carry: no
// empty, dot, reserved or upper-case segment, no control characters.
func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"", "org", "org/team", "a.b/c__d", "api", "Org", "a\x00b", "a\nb", "a//b", "../x", "a-" + "b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if CheckPath(path) != nil {
			return
		}
		if path == "" {
			return
		}
		for _, seg := range strings.Split(path, "/") {
			if seg == "" || seg == "." || seg == ".." || Reserved(seg) || strings.ToLower(seg) != seg {
				t.Fatalf("CheckPath accepted %q (segment %q)", path, seg)
			}
			for _, r := range seg {
				if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
					t.Fatalf("CheckPath accepted %q (rune %q)", path, r)
				}
			}
		}
	})
}
