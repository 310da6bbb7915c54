package server

import (
	"errors"
	"fmt"
	"testing"

	"github.com/chartd/chartd/intake"
)

// checkPath answers as intake.CheckPath does, the first time and every
// time after, and remembers only valid paths, at most maxMemoPaths.
func TestCheckPathMemo(t *testing.T) {
	s := &Server{}
	for _, p := range []string{"", "org", "org/team", "Org", "org//x", "api", "a/index.yaml", "org/-x"} {
		want := intake.CheckPath(p)
		for i := 0; i < 3; i++ {
			got := s.checkPath(p)
			if (got == nil) != (want == nil) || (want != nil && !errors.Is(got, intake.ErrInvalidName)) {
				t.Fatalf("checkPath(%q) #%d = %v, want %v", p, i, got, want)
			}
		}
		if _, kept := s.validPaths.m.Load(p); kept != (want == nil) {
			t.Errorf("checkPath(%q): remembered %v, valid %v", p, kept, want == nil)
		}
	}
	for i := 0; i < maxMemoPaths+10; i++ {
		_ = s.checkPath(fmt.Sprintf("t%d", i))
	}
	n := 0
	s.validPaths.m.Range(func(any, any) bool { n++; return true })
	if n > maxMemoPaths {
		t.Errorf("%d paths remembered, at most %d", n, maxMemoPaths)
	}
}
