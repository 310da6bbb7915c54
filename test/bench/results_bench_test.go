package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// EnvResults names the machine-readable result file of a `make bench` run
// (JSON); unset, it is test/bench/results/bench-<UTC time>.json (ignored by
// git). Every benchmark adds its figures to it as it finishes, and TestMain
// prints the table of ratios against their targets at the end.
const EnvResults = "CHARTD_BENCH_RESULTS"

func TestMain(m *testing.M) {
	if os.Getenv(EnvResults) == "" {
		p, _ := filepath.Abs(filepath.Join("results", "bench-"+time.Now().UTC().Format("20060102T150405Z")+".json"))
		_ = os.Setenv(EnvResults, p)
	}
	code := m.Run()
	if err := printSummary(os.Stdout, os.Getenv(EnvResults)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(os.Stderr, "bench: results:", err)
	}
	os.Exit(code)
}

// resultDoc is the file's content.
type resultDoc struct {
	Started string         `json:"started"`
	Go      string         `json:"go"`
	CPUs    int            `json:"cpus"`
	Ratios  []ratioRecord  `json:"ratios"`
	Figures []figureRecord `json:"figures"`
}

// ratioRecord is one ratio and, when the issue sets one, its target:
// Value >= Min (Min > 0) and Value <= Max (Max > 0).
type ratioRecord struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Min      float64 `json:"min,omitempty"`
	Max      float64 `json:"max,omitempty"`
	Met      *bool   `json:"met,omitempty"`
	Measured string  `json:"measured,omitempty"`
}

// figureRecord is a benchmark's raw measurements.
type figureRecord struct {
	Bench string         `json:"bench"`
	Label string         `json:"label"`
	Data  map[string]any `json:"data"`
}

// resultFile adds records to the run's file. Benchmarks run one at a time,
// so a read-modify-write per record is enough.
type resultFile struct {
	tb   testing.TB
	path string
}

func results(tb testing.TB) resultFile { return resultFile{tb: tb, path: os.Getenv(EnvResults)} }

func (r resultFile) update(fn func(*resultDoc)) {
	if r.path == "" {
		return
	}
	var doc resultDoc
	if b, err := os.ReadFile(r.path); err == nil {
		if err := json.Unmarshal(b, &doc); err != nil {
			r.tb.Errorf("bench: %s: %v", r.path, err)
			return
		}
	} else {
		doc = resultDoc{Started: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(), CPUs: runtime.NumCPU()}
	}
	fn(&doc)
	b, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		r.tb.Error(err)
		return
	}
	if err := os.WriteFile(r.path, append(b, '\n'), 0o644); err != nil {
		r.tb.Error(err)
	}
}

// add records raw figures of a benchmark.
func (r resultFile) add(bench, label string, data map[string]any) {
	r.update(func(d *resultDoc) { d.Figures = append(d.Figures, figureRecord{bench, label, data}) })
}

// ratio records a ratio with its target (min or max; 0: none) and what
// was measured to get it.
func (r resultFile) ratio(name string, value, minimum float64, measured string) {
	r.target(name, value, minimum, 0, measured)
}

// ceiling records a ratio that must stay at or under maximum.
func (r resultFile) ceiling(name string, value, maximum float64, measured string) {
	r.target(name, value, 0, maximum, measured)
}

func (r resultFile) target(name string, value, minimum, maximum float64, measured string) {
	rec := ratioRecord{Name: name, Value: value, Min: minimum, Max: maximum, Measured: measured}
	if minimum > 0 || maximum > 0 {
		met := (minimum == 0 || value >= minimum) && (maximum == 0 || value <= maximum)
		rec.Met = &met
	}
	r.update(func(d *resultDoc) { d.Ratios = append(d.Ratios, rec) })
}

// printSummary prints the ratio table of the file at path.
func printSummary(w *os.File, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc resultDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	if len(doc.Ratios) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nchartd benchmark, %s, %s, %d CPUs (results: %s)\n", doc.Started, doc.Go, doc.CPUs, path)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tratio\ttarget\tmet\tmeasured")
	for _, r := range doc.Ratios {
		target, met := "", ""
		switch {
		case r.Min > 0:
			target = fmt.Sprintf(">= %.2f", r.Min)
		case r.Max > 0:
			target = fmt.Sprintf("<= %.2f", r.Max)
		}
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%s\n", r.Name, r.Value, target, met, strings.TrimSpace(r.Measured))
	}
	return tw.Flush()
}

func numCPU() int { return runtime.NumCPU() }
