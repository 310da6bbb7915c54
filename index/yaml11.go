package index

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// How go-yaml v2, the decoder behind Load (through sigs.k8s.io/yaml),
// resolves a plain scalar: YAML 1.1, where yes, on, 1.0, 0x1f and
// 2024-01-01 are not strings. The fast parser needs only to know when a
// plain scalar is certainly a string; these checks follow go-yaml v2's
// resolve (resolve.go), erring towards "not a string", which only costs a
// fallback to Load.

// yaml11Bools are YAML 1.1's booleans.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true,
	"true": true, "True": true, "TRUE": true,
	"on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false,
	"false": false, "False": false, "FALSE": false,
	"off": false, "Off": false, "OFF": false,
}

// isNull reports whether a plain scalar is YAML's null.
func isNull(s string) bool {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return true
	}
	return false
}

// plainIsString reports whether go-yaml v2 reads the plain scalar s as a
// string.
func plainIsString(s string) bool {
	if isNull(s) {
		return false
	}
	if _, ok := yaml11Bools[s]; ok {
		return false
	}
	switch c := s[0]; {
	case c == '.':
		// .inf, .nan and floats such as .5
		return false
	case c == '<':
		return s != "<<" // the merge key
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		if (c == '+' || c == '-') && len(s) >= 2 && s[1] == '.' {
			return false // +.inf, -.5
		}
		if looksLikeTimestamp(s) {
			return false
		}
		plain := s
		if strings.IndexByte(s, '_') >= 0 {
			plain = strings.ReplaceAll(s, "_", "")
		}
		if isIntSyntax(plain) {
			return false
		}
		if isYAMLFloat(plain) {
			// Out of float64's range it stays a string (1e999).
			if _, err := strconv.ParseFloat(plain, 64); err == nil {
				return false
			}
		}
		if strings.HasPrefix(plain, "0b") || strings.HasPrefix(plain, "-0b") {
			return false
		}
	}
	return true
}

// isIntSyntax reports whether s has the syntax strconv.ParseInt accepts
// with base 0 (a sign, then decimal digits or a 0x, 0o or 0b number),
// where go-yaml tries ParseInt and ParseUint. It ignores their range, which
// errs towards "not a string" and, unlike calling them, allocates nothing:
// every version and digest comes through here.
func isIntSyntax(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	if len(s) > 2 && s[0] == '0' {
		switch s[1] {
		case 'x', 'X':
			digit = func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
			s = s[2:]
		case 'o', 'O':
			digit = func(c byte) bool { return c >= '0' && c <= '7' }
			s = s[2:]
		case 'b', 'B':
			digit = func(c byte) bool { return c == '0' || c == '1' }
			s = s[2:]
		}
	}
	for i := 0; i < len(s); i++ {
		if !digit(s[i]) {
			return false
		}
	}
	return true
}

// looksLikeTimestamp is go-yaml v2's quick check before it tries timestamp
// layouts: four digits and a dash.
func looksLikeTimestamp(s string) bool {
	if len(s) < 5 || s[4] != '-' {
		return false
	}
	for i := range 4 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isYAMLFloat matches ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$,
// go-yaml v2's float syntax.
func isYAMLFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// yamlPrintable reports whether data is valid UTF-8 made of the characters
// a YAML stream may hold (YAML 1.1's c-printable); go-yaml refuses others.
func yamlPrintable(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return false
		case r == 0x85, r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
		i += n
	}
	return true
}
