package action

import "testing"

// resolve picks the apply method as Helm 4 does (auto follows the record),
// with this client's default (install: client-side), and refuses the
// combinations Helm 4 refuses, in its words.
func TestApplyOptionsResolve(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opt       ApplyOptions
		recorded  string
		verb      string
		force     bool
		want      bool
		wantError string
	}{
		{name: "install default", opt: ApplyOptions{}, verb: "create"},
		{name: "install --server-side", opt: ApplyOptions{ServerSide: "true"}, verb: "create", want: true},
		{name: "auto, ssa recorded", opt: ApplyOptions{ServerSide: "auto"}, recorded: "ssa", verb: "update", want: true},
		{name: "auto, csa recorded", opt: ApplyOptions{ServerSide: "auto"}, recorded: "csa", verb: "update"},
		{name: "auto, nothing recorded (Helm 3)", opt: ApplyOptions{ServerSide: "auto"}, verb: "update"},
		{name: "false over ssa", opt: ApplyOptions{ServerSide: "false"}, recorded: "ssa", verb: "update"},
		{name: "force-conflicts client-side", opt: ApplyOptions{ServerSide: "false", ForceConflicts: true}, verb: "update",
			wantError: "invalid client update option(s): forceConflicts enabled when serverSideApply disabled"},
		{name: "force-conflicts on install default", opt: ApplyOptions{ForceConflicts: true}, verb: "create",
			wantError: "invalid client create option(s): forceConflicts enabled when serverSideApply disabled"},
		{name: "force-conflicts server-side", opt: ApplyOptions{ServerSide: "auto", ForceConflicts: true}, recorded: "ssa", verb: "update", want: true},
		{name: "server-side and force replace", opt: ApplyOptions{ServerSide: "true"}, verb: "update", force: true,
			wantError: "invalid operation: cannot use server-side apply and force replace together"},
		{name: "unknown", opt: ApplyOptions{ServerSide: "maybe"}, verb: "update",
			wantError: "invalid/unknown release server-side apply method: maybe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.opt.resolve(tc.recorded, tc.verb, tc.force)
			if tc.wantError != "" {
				if err == nil || err.Error() != tc.wantError {
					t.Fatalf("err %v, want %q", err, tc.wantError)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
