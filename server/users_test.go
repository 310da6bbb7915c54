package server

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in   string
		want accessEntry
		ok   bool
	}{
		{"repository:org/team/app:pull,push", accessEntry{"repository", "org/team/app", []string{"pull", "push"}}, true},
		{"repository:localhost:5000/app:pull", accessEntry{"repository", "localhost:5000/app", []string{"pull"}}, true},
		{"registry:catalog:*", accessEntry{"registry", "catalog", []string{"*"}}, true},
		{"repository::pull", accessEntry{}, false},
		{"nonsense", accessEntry{}, false},
		{"image:x:pull", accessEntry{}, false},
	}
	for _, tt := range tests {
		got, ok := parseScope(tt.in)
		if ok != tt.ok || cmp.Diff(tt.want, got) != "" {
			t.Errorf("parseScope(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseScope(f *testing.F) {
	f.Add("repository:a/b:pull,push")
	f.Add(":::")
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := parseScope(s)
		if ok && (e.Name == "" || len(e.Actions) == 0) {
			t.Fatalf("accepted %q as %+v", s, e)
		}
	})
}

func TestGrantCovers(t *testing.T) {
	tests := []struct {
		g      Grant
		tenant string
		action string
		want   bool
	}{
		{Grant{"team", []string{"pull"}}, "team", "pull", true},
		{Grant{"team", []string{"pull"}}, "team", "push", false},
		{Grant{"team", []string{"pull"}}, "team2", "pull", false},
		{Grant{"org/*", []string{"push"}}, "org/a", "push", true},
		{Grant{"org/*", []string{"push"}}, "orgx/a", "push", false},
		{Grant{"*", []string{"*"}}, "anything", "push", true},
	}
	for _, tt := range tests {
		if got := tt.g.covers(tt.tenant, tt.action); got != tt.want {
			t.Errorf("%+v covers(%q, %q) = %v", tt.g, tt.tenant, tt.action, got)
		}
	}
}
