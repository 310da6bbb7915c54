package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chartd/chartd/action"
)

const unlockHelp = `
This command marks a release's pending revision failed, so that the release
can be upgraded, rolled back, installed again with --replace or uninstalled.

A client killed during an install, upgrade or rollback leaves the release's
newest revision pending-install, pending-upgrade or pending-rollback, and every
later install or upgrade is refused with "another operation
(install/upgrade/rollback) is in progress". Run this only when the client
that started the operation is gone: one still running goes on regardless.
'helm rollback RELEASE [REVISION]' recovers such a release too.
`

func newUnlockCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "unlock RELEASE_NAME",
		Short: "mark a release's interrupted pending revision failed",
		Long:  unlockHelp,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := actionConfig(env)
			if err != nil {
				return err
			}
			r, err := (&action.Unlock{Cfg: cfg}).Run(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "Release %q unlocked: revision %d marked failed (%s)\n", r.Name, r.Version, r.Info.Description)
			return nil
		},
	}
}
