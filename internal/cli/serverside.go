package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/action"
)

// serverSide is --server-side: a bool on install, true|false|auto on
// upgrade and rollback, as in Helm 4, written as action's string either way.
type serverSide struct {
	p      *string
	isBool bool
}

func (v serverSide) String() string { return *v.p }
func (v serverSide) Type() string {
	if v.isBool {
		return "bool"
	}
	return "string"
}

func (v serverSide) Set(s string) error {
	if v.isBool {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		*v.p = strconv.FormatBool(b)
		return nil
	}
	switch s {
	case action.ServerSideTrue, action.ServerSideFalse, action.ServerSideAuto:
		*v.p = s
		return nil
	}
	return fmt.Errorf("must be \"true\", \"false\" or \"auto\"")
}

// bindApplyFlags adds Helm 4's --server-side and --force-conflicts. The
// defaults are Helm 3's: install applies client-side, and upgrade and
// rollback follow the release's recorded method ("auto"), which is
// client-side for releases Helm 3 or this client made.
func bindApplyFlags(cmd *cobra.Command, o *action.ApplyOptions, verb string) {
	fs := cmd.Flags()
	if verb == "install" {
		o.ServerSide = action.ServerSideFalse
		fs.Var(serverSide{&o.ServerSide, true}, "server-side",
			"object updates run in the server instead of the client (server-side apply, field manager \"helm\"). Defaults to false, Helm 3's client-side 3-way merge; Helm 4 defaults to true")
	} else {
		o.ServerSide = action.ServerSideAuto
		fs.Var(serverSide{&o.ServerSide, false}, "server-side",
			"must be \"true\", \"false\" or \"auto\". Object updates run in the server instead of the client (\"auto\" defaults the value from the previous chart release's method; releases made by Helm 3 or by this client without --server-side are client-side)")
	}
	fs.Lookup("server-side").NoOptDefVal = action.ServerSideTrue
	fs.BoolVar(&o.ForceConflicts, "force-conflicts", false, "if set server-side apply will force changes against conflicts")
	cmd.MarkFlagsMutuallyExclusive("force", "force-conflicts")
}
