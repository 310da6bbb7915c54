package intake

import (
	"errors"

	"github.com/chartd/chartd/internal/helmoci"
)

// Verdicts. Every refusal the intake decides wraps one of these (or a
// sentinel of chart, provenance or storage it passes on: chart.ErrTooLarge
// for a size limit, storage.ErrExists for an existing version,
// storage.ErrLimit for a full tenant), and its text says what to change.
// The two protocols turn them into statuses, each in its one error table.
var (
	// ErrInvalidName: a tenant, repository path or chart name breaks the
	// naming rule (see CheckPath, CheckChartName).
	ErrInvalidName = errors.New("invalid name")
	// ErrInvalidVersion: the chart version cannot be an OCI tag.
	ErrInvalidVersion = errors.New("invalid chart version")
	// ErrUnsigned: the tenant requires a provenance file and none came
	// (and the server does not sign).
	ErrUnsigned = errors.New("chart is not signed")
	// ErrSignature: the provenance file does not verify against the
	// tenant's trusted keys and the archive. It wraps provenance's reason.
	ErrSignature = errors.New("provenance verification failed")
	// ErrMismatch: what came with the chart contradicts its archive: the
	// OCI config, repository or tag names another chart or version.
	ErrMismatch = errors.New("chart does not match")
	// ErrManifest: an OCI manifest that claims to be a chart (by its config
	// media type) is not laid out as Helm lays charts out.
	ErrManifest = helmoci.ErrInvalid
	// ErrNoChart: a provenance file arrived for a version that does not exist.
	ErrNoChart = errors.New("no such chart version")
)
