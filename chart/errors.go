package chart

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for bad input wraps one
// of ErrInvalidChart, ErrBadArchive or ErrTooLarge, so a server can map all of
// them to a client error (400/413) with errors.Is, and show the message.
var (
	// ErrInvalidChart: the chart's content (Chart.yaml, values.yaml,
	// Chart.lock, a subchart) is not what Helm accepts.
	ErrInvalidChart = errors.New("invalid chart")

	// ErrBadArchive: the bytes are not a well-formed chart archive.
	ErrBadArchive = errors.New("bad chart archive")

	// ErrTooLarge: a size or count limit was exceeded (decompression bomb).
	ErrTooLarge = errors.New("chart too large")

	// ErrPathTraversal: an entry is absolute, has a ".." component or lies
	// outside the chart's top directory. It wraps ErrBadArchive.
	ErrPathTraversal error = &sentinel{"path escapes the chart directory", ErrBadArchive}

	// ErrIrregularFile: an entry is a symlink, hard link, device, FIFO or
	// another non-regular file. It wraps ErrBadArchive.
	ErrIrregularFile error = &sentinel{"not a regular file", ErrBadArchive}

	// ErrMetadataTooLarge: Chart.yaml, or one of its fields, exceeds a
	// metadata limit (see Limits), or its YAML aliases expand beyond one. It
	// wraps ErrInvalidChart: the chart is refused for what it says, like a
	// validation failure, not for the size of the archive.
	ErrMetadataTooLarge error = &sentinel{"chart metadata too large", ErrInvalidChart}

	// ErrNoChartYaml: the chart has no Chart.yaml. It wraps ErrInvalidChart;
	// its text is Helm's.
	ErrNoChartYaml error = &sentinel{"Chart.yaml file is missing", ErrInvalidChart}
)

// sentinel is a sentinel error that belongs to a broader class, so that
// errors.Is(ErrPathTraversal, ErrBadArchive) holds.
type sentinel struct {
	msg    string
	parent error
}

func (s *sentinel) Error() string { return s.msg }
func (s *sentinel) Unwrap() error { return s.parent }

// ValidationError is a Chart.yaml validation failure. Its text is Helm's
// ("validation: chart.metadata.name is required"); it wraps ErrInvalidChart.
type ValidationError string

func (v ValidationError) Error() string { return "validation: " + string(v) }

// Unwrap makes every validation error an ErrInvalidChart.
func (v ValidationError) Unwrap() error { return ErrInvalidChart }

func validationErrorf(format string, a ...any) ValidationError {
	return ValidationError(fmt.Sprintf(format, a...))
}

// detailError keeps Helm's message ("cannot load values.yaml: <cause>")
// while matching both its class (ErrInvalidChart, ...) and its cause.
type detailError struct {
	class error
	msg   string
	cause error
}

func (e *detailError) Error() string {
	if e.cause == nil {
		return e.msg
	}
	return e.msg + ": " + e.cause.Error()
}

func (e *detailError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.class, e.cause} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// errorf returns an error of class whose message is the formatted text. A
// trailing %w verb is not supported; pass the cause to wrapf instead.
func errorf(class error, format string, a ...any) error {
	return &detailError{class: class, msg: fmt.Sprintf(format, a...)}
}

// wrapf is errorf with a cause appended as ": cause". A nil class adds
// context only: the cause's class stands.
func wrapf(class, cause error, format string, a ...any) error {
	return &detailError{class: class, msg: fmt.Sprintf(format, a...), cause: cause}
}
