// Package ignore implements .helmignore rules with Helm 3's semantics.
//
// The format is close to, but not, .gitignore:
//
//   - one pattern per line; blank lines and lines starting with # are skipped;
//     surrounding spaces are trimmed (there is no escape for them);
//   - patterns are path.Match globs; "**" is rejected;
//   - a pattern without a slash matches the base name at any depth;
//   - a pattern with a slash matches the whole slash-separated path relative
//     to the chart root; a leading slash only anchors it there;
//   - a trailing slash matches directories only;
//   - a leading ! negates, with Helm's (surprising) rule: a path that does
//     NOT match a negated pattern is ignored, one that matches goes on to the
//     next rule.
//
// Rules are evaluated in order and the first decision wins.
package ignore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// FileName is the name of the ignore file at the top of a chart directory.
const FileName = ".helmignore"

// ErrBadPattern is returned for a pattern Helm refuses.
var ErrBadPattern = errors.New("ignore: bad pattern")

// Rules is an ordered list of patterns. The zero value ignores nothing.
type Rules struct {
	patterns []pattern
}

type pattern struct {
	glob    string // without !, leading / and trailing /
	negate  bool
	mustDir bool
	// base: the pattern has no slash, so it is matched against the base name.
	base bool
}

// Parse reads rules, one per line.
func Parse(r io.Reader) (*Rules, error) {
	rs := &Rules{}
	s := bufio.NewScanner(r)
	first := true
	line := 0
	for s.Scan() {
		b := s.Bytes()
		if first {
			b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
			first = false
		}
		line++
		if err := rs.Add(string(b)); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("ignore: reading rules: %w", err)
	}
	return rs, nil
}

// AddDefaults adds Helm's built-in rule: dotfiles under templates/ are never
// templates.
func (r *Rules) AddDefaults() {
	// The rule is constant and valid.
	_ = r.Add("templates/.?*")
}

// Add parses one rule and appends it. Blank lines and comments are accepted
// and ignored.
func (r *Rules) Add(rule string) error {
	rule = strings.TrimSpace(rule)
	if rule == "" || strings.HasPrefix(rule, "#") {
		return nil
	}
	if strings.Contains(rule, "**") {
		return fmt.Errorf("%w: double-star (**) syntax is not supported: %q", ErrBadPattern, rule)
	}
	// A non-empty name forces path.Match to parse the whole pattern.
	if _, err := path.Match(rule, "abc"); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrBadPattern, rule, err)
	}
	p := pattern{}
	if strings.HasPrefix(rule, "!") {
		p.negate = true
		rule = rule[1:]
	}
	if strings.HasSuffix(rule, "/") {
		p.mustDir = true
		rule = strings.TrimSuffix(rule, "/")
	}
	switch {
	case strings.HasPrefix(rule, "/"):
		rule = strings.TrimPrefix(rule, "/")
	case !strings.Contains(rule, "/"):
		p.base = true
	}
	p.glob = rule
	r.patterns = append(r.patterns, p)
	return nil
}

// Ignore reports whether the slash-separated path (relative to the chart
// root) is ignored. For a directory, true means its whole subtree is skipped.
func (r *Rules) Ignore(name string, isDir bool) bool {
	// The chart root itself is never ignored (Helm issue 1776).
	if name == "" || name == "." || name == "./" {
		return false
	}
	for _, p := range r.patterns {
		if p.negate {
			if p.mustDir && !isDir {
				return true
			}
			if !p.match(name) {
				return true
			}
			continue
		}
		if p.mustDir && !isDir {
			continue
		}
		if p.match(name) {
			return true
		}
	}
	return false
}

func (p pattern) match(name string) bool {
	if p.base {
		name = path.Base(name)
	}
	ok, err := path.Match(p.glob, name)
	return err == nil && ok
}
