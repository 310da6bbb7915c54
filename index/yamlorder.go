package index

import (
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v2"
)

// go-yaml writes a map's keys sorted with its own "natural" comparator,
// starting from reflect's MapKeys, whose order is random. On most key sets
// that comparator is a consistent order, and the output is the same every
// time. On some it is not: when two keys share a prefix ending in a digit
// and then one goes on with a digit and the other with a letter, the
// letter wins ("27B" before "2A"), although the longer number would win
// against anything else ("3" before "27B", and "2A" before "3"): a cycle,
// and the sort's answer depends on where it started. Real Helm's index
// writer (v3.22 and v4.3) gives a different index.yaml from one run to the
// next on such annotations or chart names; an ETag over our bytes would
// change with the content unchanged, and replicas would disagree.
//
// So a map whose keys can meet that case is written as a yaml.MapSlice,
// which go-yaml emits as given, in an order decided here, deterministically,
// from the emitter's own decisions on pairs of keys. Every other map is
// left to go-yaml's sort, as before, so the common path costs one scan of
// its keys.
//
// Why this split is safe. Besides the case above, the comparator's
// decision on two keys is the one of an ordinary order: compare the keys
// token by token (a run of digits is one token, any other rune is one),
// where a shorter key comes first, then non-letters other than digits by
// code point, then digit runs by value and then length, then letters by
// code point. The comparator does not look at tokens that way (it starts
// counting a number at the first rune where the keys differ, and looks
// back only for leading zeros), but it reaches the same decision, except
// for a number against a letter after a shared digit, for digits other
// than ASCII ones (which it reads as if they were ASCII) and for runs too
// long for an int64. Keys free of those cases are therefore sorted
// consistently, and go-yaml's answer on them is the only right one; the
// fuzz tests hold this to the library (FuzzYAMLKeyOrder).
//
// Why not ask the emitter about every pair: one two-key marshal costs
// about 2.7 µs, and sorting 10k chart names that way would take n log n
// of them (about 0.4 s), against one marshal of the whole map (about
// 0.1 s).
// Only the keys that meet the bad case (usually none, or a handful) are
// placed by asking, by binary insertion into the rest, which go-yaml sorts
// in one marshal. On key sets where the comparator is consistent, every
// step agrees with it, so the result is go-yaml's own order, byte for byte.

// maxSafeRun is the longest digit run the comparator reads without
// overflowing: it may prefix a run with a 1, and 1 followed by 18 digits
// still fits an int64.
const maxSafeRun = 18

// askedKeys returns the keys of m whose place go-yaml's sort does not
// decide consistently against the others: for every shared prefix ending
// in a digit that some keys continue with a digit and others with a
// letter, one of the two sides (the smaller), and every key with a
// non-ASCII digit or a digit run over maxSafeRun. Without them, the keys
// are ordered consistently. It returns nil, having allocated nothing, for
// most key sets: those where no digit is followed by a letter ("k8s"
// costs a sorted copy of the keys), or no such key continues a prefix
// another key continues with a digit.
func askedKeys[V any](m map[string]V) []string {
	var odd []string
	turns := false // a digit followed by a letter
	for k := range m {
		prevDigit, run := false, 0
		for _, r := range k {
			digit := r >= '0' && r <= '9'
			if digit {
				run++
			} else {
				run = 0
			}
			if run > maxSafeRun || (!digit && r >= 0x80 && unicode.IsDigit(r)) {
				odd = append(odd, k)
				break
			}
			if prevDigit && !digit && unicode.IsLetter(r) {
				turns = true
			}
			prevDigit = digit
		}
	}
	if !turns {
		return odd
	}
	// In bytewise order, the keys continuing a prefix with an ASCII digit
	// are one run, found by binary search.
	sorted := make([]string, 0, len(m))
	for k := range m {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	var lSide, dSide map[string]bool
	for _, k := range sorted {
		prevDigit := false
		for i, r := range k {
			digit := r >= '0' && r <= '9'
			if prevDigit && !digit && unicode.IsLetter(r) {
				p := k[:i]
				lo, _ := slices.BinarySearchFunc(sorted, p, func(s, p string) int { return cmpDigitAfter(s, p, '0') })
				hi, _ := slices.BinarySearchFunc(sorted, p, func(s, p string) int { return cmpDigitAfter(s, p, '9'+1) })
				if lo < hi {
					if lSide == nil {
						lSide, dSide = map[string]bool{}, map[string]bool{}
					}
					lSide[k] = true
					for _, d := range sorted[lo:hi] {
						dSide[d] = true
					}
				}
			}
			prevDigit = digit
		}
	}
	// Either side, taken out, leaves no such pair behind.
	side := lSide
	if len(dSide) < len(lSide) {
		side = dSide
	}
	if side == nil {
		return odd
	}
	for _, k := range odd {
		side[k] = true
	}
	return slices.Collect(maps.Keys(side))
}

// cmpDigitAfter compares s with p followed by the byte c, bytewise, as
// strings.Compare(s, p+string(c)) would, without building that string.
func cmpDigitAfter(s, p string, c byte) int {
	n := min(len(s), len(p))
	if x := strings.Compare(s[:n], p); x != 0 || len(s) == len(p) {
		if x == 0 {
			return -1 // s is p, shorter
		}
		return x
	}
	if len(s) < len(p) {
		return -1
	}
	switch {
	case s[len(p)] < c:
		return -1
	case s[len(p)] > c:
		return 1
	case len(s) == len(p)+1:
		return 0
	}
	return 1
}

// orderedKeys returns m's keys in a deterministic order that is go-yaml's
// whenever go-yaml's is itself deterministic, or nil when go-yaml's own
// sort can be left to order them.
func orderedKeys[V any](m map[string]V) ([]string, error) {
	asked := askedKeys(m)
	if len(asked) == 0 {
		return nil, nil
	}
	isAsked := make(map[string]bool, len(asked))
	for _, k := range asked {
		isAsked[k] = true
	}
	rest := make([]string, 0, len(m)-len(asked))
	for k := range m {
		if !isAsked[k] {
			rest = append(rest, k)
		}
	}
	order, err := emitterOrder(rest)
	if err != nil {
		return nil, err
	}
	// The same start on every run: bytewise order, then each key's place
	// among those already placed, by the emitter's pairwise answers.
	slices.Sort(asked)
	for _, k := range asked {
		var lerr error
		i := sort.Search(len(order), func(j int) bool {
			less, err := emitterLess(k, order[j])
			if err != nil {
				lerr = err
			}
			return less
		})
		if lerr != nil {
			return nil, lerr
		}
		order = slices.Insert(order, i, k)
	}
	return order, nil
}

var errEmitterOrder = errors.New("index: unexpected YAML layout while ordering keys")

// emitterOrder returns keys as go-yaml sorts them, for keys it sorts
// consistently: it marshals a map from each key to its index and reads the
// indexes back in the order written.
func emitterOrder(keys []string) ([]string, error) {
	if len(keys) < 2 {
		return keys, nil
	}
	probe := make(map[string]int, len(keys))
	for i, k := range keys {
		probe[k] = i
	}
	b, err := yaml.Marshal(probe)
	if err != nil {
		return nil, err
	}
	// A key that means something to the reader ("<<", a merge) can keep
	// the document from reading back as written; then the keys are sorted
	// by the emitter's pairwise answers, which, on keys it orders
	// consistently, give the same order at more cost.
	var written yaml.MapSlice
	if yaml.Unmarshal(b, &written) != nil || len(written) != len(keys) {
		return sortByEmitter(keys)
	}
	out := make([]string, len(keys))
	for n, item := range written {
		i, ok := item.Value.(int)
		if !ok || i < 0 || i >= len(keys) {
			return sortByEmitter(keys)
		}
		out[n] = keys[i]
	}
	return out, nil
}

// sortByEmitter sorts keys by emitterLess.
func sortByEmitter(keys []string) ([]string, error) {
	out := slices.Clone(keys)
	var lerr error
	sort.Slice(out, func(i, j int) bool {
		less, err := emitterLess(out[i], out[j])
		if err != nil {
			lerr = err
		}
		return less
	})
	return out, lerr
}

// emitterLess reports whether go-yaml writes a before b in a map of the
// two. With two keys its sort makes one comparison, and its comparator
// answers every pair of distinct keys one way or the other, so the answer
// is the same whichever key the map yields first.
func emitterLess(a, b string) (bool, error) {
	out, err := yaml.Marshal(map[string]int{a: 0, b: 1})
	if err != nil {
		return false, err
	}
	// The document ends with the value written last: "...: 0\n" or "...: 1\n".
	if len(out) < 2 || out[len(out)-1] != '\n' {
		return false, errEmitterOrder
	}
	switch out[len(out)-2] {
	case '1':
		return true, nil
	case '0':
		return false, nil
	}
	return false, errEmitterOrder
}

// orderedMap is m for go-yaml to write, its keys in a deterministic order:
// m itself, as a map[any]any, when go-yaml's sort is consistent on its
// keys, else a yaml.MapSlice in the order orderedKeys decides.
func orderedMap(m map[string]any) (any, error) {
	order, err := orderedKeys(m)
	if err != nil {
		return nil, err
	}
	if order == nil {
		out := make(map[any]any, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out, nil
	}
	out := make(yaml.MapSlice, len(order))
	for i, k := range order {
		out[i] = yaml.MapItem{Key: k, Value: m[k]}
	}
	return out, nil
}

// orderTree makes the maps of a tree from go-yaml's reader (all keys
// strings, as JSON's are) deterministic for go-yaml's writer, as
// orderedMap does; a map with a key of another type is left as it is.
func orderTree(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		for i, x := range v {
			y, err := orderTree(x)
			if err != nil {
				return nil, err
			}
			v[i] = y
		}
	case map[any]any:
		for k := range v {
			if _, ok := k.(string); !ok {
				return v, nil
			}
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			y, err := orderTree(x)
			if err != nil {
				return nil, err
			}
			m[k.(string)] = y
		}
		return orderedMap(m)
	}
	return v, nil
}
