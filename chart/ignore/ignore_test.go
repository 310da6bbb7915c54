package ignore

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestIgnore(t *testing.T) {
	tests := []struct {
		rules  string
		name   string
		isDir  bool
		ignore bool
	}{
		{"foo.txt", "foo.txt", false, true},
		{"foo.txt", "a/b/foo.txt", false, true},
		{"foo.txt", "foo.txt.bak", false, false},
		{"*.txt", "docs/readme.txt", false, true},
		{"/*.txt", "readme.txt", false, true},
		{"/*.txt", "docs/readme.txt", false, false},
		{"docs/*.md", "docs/a.md", false, true},
		{"docs/*.md", "x/docs/a.md", false, false},
		{"mydir/", "mydir", true, true},
		{"mydir/", "mydir", false, false},
		{"a[b-d].txt", "ac.txt", false, true},
		{"a[b-d].txt", "ae.txt", false, false},
		{"# comment\n\n  spaced.txt  ", "spaced.txt", false, true},
		{"*", "", true, false},
		{"*", ".", true, false},
		// Helm's negation: a path that does not match is ignored.
		{"!keep.txt", "other.txt", false, true},
		{"!keep.txt", "keep.txt", false, false},
		{"*.txt\n!keep.txt", "keep.txt", false, true},
		{"!dir/", "file", false, true},
		{"", "templates/.hidden", false, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%s", tt.rules, tt.name), func(t *testing.T) {
			r, err := Parse(strings.NewReader(tt.rules))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Ignore(tt.name, tt.isDir); got != tt.ignore {
				t.Errorf("Ignore(%q, %v) = %v, want %v", tt.name, tt.isDir, got, tt.ignore)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	var r Rules
	r.AddDefaults()
	for name, want := range map[string]bool{
		"templates/.hidden.yaml": true,
		"templates/a.yaml":       false,
		".hidden":                false,
		"templates/sub/.x":       false,
	} {
		if got := r.Ignore(name, false); got != want {
			t.Errorf("Ignore(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, rule := range []string{"**/foo", "a[", "\ufeffok\nbad["} {
		_, err := Parse(strings.NewReader(rule))
		if !errors.Is(err, ErrBadPattern) {
			t.Errorf("Parse(%q) error = %v, want ErrBadPattern", rule, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("*.txt\n!keep.txt\n/dir/\n# c\n", "dir/keep.txt")
	f.Add("a[b-d]/", "ab")
	f.Fuzz(func(t *testing.T, rules, name string) {
		r, err := Parse(strings.NewReader(rules))
		if err != nil {
			if !errors.Is(err, ErrBadPattern) && !strings.Contains(err.Error(), "reading rules") {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		// Must not panic, and the root is never ignored.
		r.Ignore(name, false)
		r.Ignore(name, true)
		if r.Ignore("", true) || r.Ignore(".", true) {
			t.Fatal("root ignored")
		}
	})
}

func ExampleRules_Ignore() {
	r, _ := Parse(strings.NewReader("*.bak\n/secrets/\n"))
	fmt.Println(r.Ignore("templates/a.yaml.bak", false))
	fmt.Println(r.Ignore("secrets", true))
	fmt.Println(r.Ignore("templates/secrets", true))
	// Output:
	// true
	// true
	// false
}
