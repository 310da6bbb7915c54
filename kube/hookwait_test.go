package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A Job is done on Complete, failed on Failed, else still running; a Pod
// likewise on its phase. The messages are Helm 3's.
func TestDoneConditions(t *testing.T) {
	cond := func(typ, status, reason string) map[string]any {
		return map[string]any{"type": typ, "status": status, "reason": reason}
	}
	for _, tc := range []struct {
		name    string
		kind    string
		status  map[string]any
		done    bool
		wantErr string
	}{
		{"job running", "Job", map[string]any{"active": int64(1)}, false, ""},
		{"job complete", "Job", map[string]any{"conditions": []any{cond("SuccessCriteriaMet", "True", ""), cond("Complete", "True", "")}}, true, ""},
		{"job complete false", "Job", map[string]any{"conditions": []any{cond("Complete", "False", "")}}, false, ""},
		{"job failed", "Job", map[string]any{"conditions": []any{cond("FailureTarget", "True", "x"), cond("Failed", "True", "BackoffLimitExceeded")}}, true, "job j failed: BackoffLimitExceeded"},
		{"pod pending", "Pod", map[string]any{"phase": "Pending"}, false, ""},
		{"pod running", "Pod", map[string]any{"phase": "Running"}, false, ""},
		{"pod succeeded", "Pod", map[string]any{"phase": "Succeeded"}, true, ""},
		{"pod failed", "Pod", map[string]any{"phase": "Failed"}, true, "pod j failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{"status": tc.status}}
			f := podDone
			if tc.kind == "Job" {
				f = jobDone
			}
			done, err := f(u, "j")
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if done != tc.done || gotErr != tc.wantErr {
				t.Errorf("got done=%v err=%q, want %v %q", done, gotErr, tc.done, tc.wantErr)
			}
		})
	}
}
