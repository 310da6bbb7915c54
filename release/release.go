// Package release is the release model in Helm's JSON, shared by Helm 3 and
// Helm 4, and the store that keeps a release's history in a driver.
//
// Fields this client does not know (a later Helm's additions) are kept as
// they were read and written back unchanged, so rewriting a revision that
// another Helm made (to mark it superseded, say) loses nothing.
package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chartd/chartd/chart"
)

// Status is a release's state, as Helm spells it.
type Status string

// Helm's statuses.
const (
	StatusUnknown         Status = "unknown"
	StatusDeployed        Status = "deployed"
	StatusUninstalled     Status = "uninstalled"
	StatusSuperseded      Status = "superseded"
	StatusFailed          Status = "failed"
	StatusUninstalling    Status = "uninstalling"
	StatusPendingInstall  Status = "pending-install"
	StatusPendingUpgrade  Status = "pending-upgrade"
	StatusPendingRollback Status = "pending-rollback"
)

// IsPending reports whether the status is one of the pending-* states.
func (s Status) IsPending() bool {
	return s == StatusPendingInstall || s == StatusPendingUpgrade || s == StatusPendingRollback
}

// Apply methods Helm 4 records.
const (
	ApplyClientSide = "csa"
	ApplyServerSide = "ssa"
)

// Release is one revision of a release.
type Release struct {
	Name      string         `json:"name,omitempty"`
	Info      *Info          `json:"info,omitempty"`
	Chart     *chart.Chart   `json:"chart,omitempty"`
	Config    map[string]any `json:"config,omitempty"`
	Manifest  string         `json:"manifest,omitempty"`
	Hooks     []*Hook        `json:"hooks,omitempty"`
	Version   int            `json:"version,omitempty"`
	Namespace string         `json:"namespace,omitempty"`
	// ApplyMethod is Helm 4's record of how the objects were applied
	// ("csa" or "ssa"); empty means client-side.
	ApplyMethod string `json:"apply_method,omitempty"`
	// Labels are the user's labels (--labels), stored on the driver object
	// rather than in the JSON.
	Labels map[string]string `json:"-"`
	// Extra holds fields this client does not know, written back as read.
	Extra map[string]json.RawMessage `json:"-"`
}

// Info is a revision's state and timestamps.
type Info struct {
	FirstDeployed Time   `json:"first_deployed"`
	LastDeployed  Time   `json:"last_deployed"`
	Deleted       Time   `json:"deleted"`
	Description   string `json:"description,omitempty"`
	Status        Status `json:"status,omitempty"`
	// RollbackRevision is Helm 4's record of the revision a rollback
	// restored; zero when this revision is no rollback.
	RollbackRevision int    `json:"rollback_revision,omitempty"`
	Notes            string `json:"notes,omitempty"`
	// Resources is what `helm status --show-resources` reads; kept as is.
	Resources json.RawMessage `json:"resources,omitempty"`
	// Extra holds fields this client does not know, written back as read.
	Extra map[string]json.RawMessage `json:"-"`
	// omitZeroTimes is set when the times were read in Helm 4's form (zero
	// times absent), so they are written back in that form.
	omitZeroTimes bool
}

// Hook is a rendered hook as Helm stores it. Running hooks is part 3's.
type Hook struct {
	Name              string   `json:"name,omitempty"`
	Kind              string   `json:"kind,omitempty"`
	Path              string   `json:"path,omitempty"`
	Manifest          string   `json:"manifest,omitempty"`
	Events            []string `json:"events,omitempty"`
	LastRun           HookRun  `json:"last_run"`
	Weight            int      `json:"weight,omitempty"`
	DeletePolicies    []string `json:"delete_policies,omitempty"`
	OutputLogPolicies []string `json:"output_log_policies,omitempty"`
}

// HookRun is a hook's last execution.
type HookRun struct {
	StartedAt   Time   `json:"started_at"`
	CompletedAt Time   `json:"completed_at"`
	Phase       string `json:"phase"`
}

// Time is a timestamp that Helm 3 writes as "" when zero; both "" and an
// absent field read as zero.
type Time struct{ time.Time }

// Now returns the current time as a Time.
func Now() Time { return Time{time.Now()} }

// MarshalJSON writes a zero time as "", as Helm 3 does.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`""`), nil
	}
	return t.Time.MarshalJSON()
}

// UnmarshalJSON reads "", null or an RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == `""` || string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	return t.Time.UnmarshalJSON(b)
}

type releaseJSON Release

var releaseFields = []string{"name", "info", "chart", "config", "manifest", "hooks", "version", "namespace", "apply_method"}

// UnmarshalJSON reads a release, keeping unknown fields in Extra.
func (r *Release) UnmarshalJSON(b []byte) error {
	var v releaseJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	extra, err := unknownFields(b, releaseFields)
	if err != nil {
		return err
	}
	v.Extra = extra
	*r = Release(v)
	return nil
}

// MarshalJSON writes a release with its unknown fields.
func (r Release) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(releaseJSON(r))
	if err != nil {
		return nil, err
	}
	return withFields(b, r.Extra, nil)
}

type infoJSON Info

var infoFields = []string{"first_deployed", "last_deployed", "deleted", "description", "status", "rollback_revision", "notes", "resources"}
var infoTimes = []string{"first_deployed", "last_deployed", "deleted"}

// UnmarshalJSON reads an info, keeping unknown fields in Extra and noting
// whether zero times were omitted (Helm 4) or written as "" (Helm 3).
func (i *Info) UnmarshalJSON(b []byte) error {
	var v infoJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	extra, err := unknownFields(b, infoFields)
	if err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	_, hasDeleted := all["deleted"]
	v.Extra = extra
	v.omitZeroTimes = !hasDeleted
	*i = Info(v)
	return nil
}

// MarshalJSON writes an info in the form it was read in (new ones in Helm
// 3's form, zero times as "").
func (i Info) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(infoJSON(i))
	if err != nil {
		return nil, err
	}
	var drop []string
	if i.omitZeroTimes {
		for _, k := range infoTimes {
			if t := i.time(k); t.IsZero() {
				drop = append(drop, k)
			}
		}
	}
	return withFields(b, i.Extra, drop)
}

// OmitZeroTimes makes the info write zero times as Helm 4 does (absent).
func (i *Info) OmitZeroTimes() { i.omitZeroTimes = true }

func (i Info) time(k string) Time {
	switch k {
	case "first_deployed":
		return i.FirstDeployed
	case "last_deployed":
		return i.LastDeployed
	}
	return i.Deleted
}

func unknownFields(b []byte, known []string) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for _, k := range known {
		delete(all, k)
	}
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
}

// withFields adds extra to and removes drop from the JSON object b.
func withFields(b []byte, extra map[string]json.RawMessage, drop []string) ([]byte, error) {
	if len(extra) == 0 && len(drop) == 0 {
		return b, nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range extra {
		if _, ok := all[k]; !ok {
			all[k] = v
		}
	}
	for _, k := range drop {
		delete(all, k)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(all); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// SetStatus sets the status and description.
func (r *Release) SetStatus(s Status, desc string) {
	r.Info.Status = s
	r.Info.Description = desc
}

// Key is the name of the driver object holding a revision:
// sh.helm.release.v1.<name>.v<revision>.
func Key(name string, version int) string {
	return fmt.Sprintf("sh.helm.release.v1.%s.v%d", name, version)
}

// ChartName is the chart's name, or "" without metadata.
func (r *Release) ChartName() string {
	if r.Chart == nil || r.Chart.Metadata == nil {
		return ""
	}
	return r.Chart.Metadata.Name
}

// ChartVersion is the chart's version, or "".
func (r *Release) ChartVersion() string {
	if r.Chart == nil || r.Chart.Metadata == nil {
		return ""
	}
	return r.Chart.Metadata.Version
}

// AppVersion is the chart's appVersion, or "".
func (r *Release) AppVersion() string {
	if r.Chart == nil || r.Chart.Metadata == nil {
		return ""
	}
	return r.Chart.Metadata.AppVersion
}
