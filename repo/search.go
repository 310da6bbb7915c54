package repo

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/chartd/chartd/index"
)

// searchSep separates the fields of a search line; a match's score is the
// number of separators before it, so name matches rank above description
// matches. Helm uses the same separator and scoring.
const searchSep = "\v"

// MaxSearchScore is Helm's threshold: scores at or above it are no match.
const MaxSearchScore = 25

// Result is one search hit.
type Result struct {
	// Name is "<repo>/<chart>".
	Name  string
	Score int
	Chart *index.Summary

	version *semver.Version
}

type searchLine struct {
	name  string
	text  string
	lower string
	cv    *index.Summary
	ver   *semver.Version
}

// SearchIndex holds every chart version of the configured repositories.
type SearchIndex struct {
	lines []searchLine
}

// AddRepo adds a repository's charts: every version when all is set, else
// the newest of each chart.
func (s *SearchIndex) AddRepo(repoName string, idx *index.Compact, all bool) {
	for chartName, cvs := range idx.Entries {
		if len(cvs) == 0 {
			continue
		}
		name := repoName + "/" + chartName
		if !all {
			cvs = cvs[:1]
		}
		for _, cv := range cvs {
			text := cv.Name + searchSep + repoName + "/" + cv.Name + searchSep + cv.Description + searchSep + strings.Join(cv.Keywords, " ")
			v, _ := semver.NewVersion(cv.Version)
			s.lines = append(s.lines, searchLine{name: name, text: text, cv: cv, ver: v})
		}
	}
}

// All returns every line as a result with score 0.
func (s *SearchIndex) All() []*Result {
	out := make([]*Result, len(s.lines))
	for i, l := range s.lines {
		out[i] = &Result{Name: l.name, Chart: l.cv, version: l.ver}
	}
	return out
}

// Search finds term (case-insensitively, or as a regular expression).
func (s *SearchIndex) Search(term string, threshold int, useRegexp bool) ([]*Result, error) {
	var match func(l *searchLine) int
	if useRegexp {
		re, err := regexp.Compile(term)
		if err != nil {
			// Helm prints the regexp package's message as is.
			return nil, err
		}
		match = func(l *searchLine) int {
			if loc := re.FindStringIndex(l.text); loc != nil {
				return score(loc[0], l.text)
			}
			return -1
		}
	} else {
		term = strings.ToLower(term)
		match = func(l *searchLine) int {
			if l.lower == "" {
				l.lower = strings.ToLower(l.text)
			}
			if i := strings.Index(l.lower, term); i >= 0 {
				return score(i, l.lower)
			}
			return -1
		}
	}
	var out []*Result
	for i := range s.lines {
		l := &s.lines[i]
		if sc := match(l); sc >= 0 && sc < threshold {
			out = append(out, &Result{Name: l.name, Score: sc, Chart: l.cv, version: l.ver})
		}
	}
	return out, nil
}

func score(pos int, line string) int {
	return strings.Count(line[:pos], searchSep)
}

// SortResults orders results as Helm does: by score, then name, then
// version, newest first.
func SortResults(r []*Result) {
	sort.SliceStable(r, func(i, j int) bool {
		a, b := r[i], r[j]
		if a.Score != b.Score {
			return a.Score < b.Score
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.version == nil || b.version == nil {
			return false
		}
		return a.version.GreaterThan(b.version)
	})
}

// FilterVersions keeps the results whose version satisfies constraint; when
// all is false only the first (newest) match of each chart is kept. The
// input must be sorted with SortResults.
func FilterVersions(res []*Result, constraint string, all bool) ([]*Result, error) {
	if constraint == "" {
		return res, nil
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return res, fmt.Errorf("an invalid version/constraint format: %w", err)
	}
	out := res[:0]
	seen := map[string]bool{}
	for _, r := range res {
		if !all && seen[r.Name] {
			continue
		}
		if r.version == nil || !c.Check(r.version) {
			continue
		}
		out = append(out, r)
		seen[r.Name] = true
	}
	return out, nil
}
