package plugin_test

import (
	"fmt"

	"github.com/chartd/chartd/internal/plugin"
)

// A Helm 3 plugin.yaml and a Helm 4 one read into the same Plugin.
func ExampleParse() {
	for _, y := range []string{
		"name: diff\nversion: 3.9.0\nusage: Preview helm upgrade changes as a diff\ncommand: \"$HELM_PLUGIN_DIR/bin/diff\"\n",
		"apiVersion: v1\nname: kustomize\ntype: postrenderer/v1\nruntime: subprocess\nversion: 1.0.0\nruntimeConfig:\n  platformCommand:\n  - command: ${HELM_PLUGIN_DIR}/kustomize.sh\n",
	} {
		p, err := plugin.Parse([]byte(y), "plugin.yaml")
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %s %s %q\n", p.Name, p.Version, p.Type, p.Command[0].Command)
	}
	// Output:
	// diff 3.9.0 cli/v1 "$HELM_PLUGIN_DIR/bin/diff"
	// kustomize 1.0.0 postrenderer/v1 "${HELM_PLUGIN_DIR}/kustomize.sh"
}
