package action

import (
	"context"
	"fmt"
	"io"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/yaml"

	"github.com/chartd/chartd/release"
)

// HookOutputFunc receives one container's log of a hook pod.
type HookOutputFunc func(namespace, pod, container string, log io.Reader) error

// outputLogsByPolicy hands the logs of the hook's pods (a Pod hook's own,
// a Job's by its job-name label) to HookOutput when the hook's
// helm.sh/hook-output-log-policy has policy (hook-succeeded or
// hook-failed). As in Helm a failure is only logged: the hook's outcome
// is what counts.
func (c *Configuration) outputLogsByPolicy(ctx context.Context, h *release.Hook, namespace, policy string) {
	if c.HookOutput == nil || !slices.Contains(h.OutputLogPolicies, policy) {
		return
	}
	var opts metav1.ListOptions
	switch h.Kind {
	case "Job":
		opts.LabelSelector = "job-name=" + h.Name
	case "Pod":
		opts.FieldSelector = fields.OneTermEqualSelector("metadata.name", h.Name).String()
	default:
		return
	}
	if err := c.outputLogs(ctx, hookNamespace(h, namespace), opts); err != nil {
		c.Logger.Warn("error outputting logs for hook failure", "hook", h.Name, "err", err)
	}
}

func (c *Configuration) outputLogs(ctx context.Context, namespace string, opts metav1.ListOptions) error {
	pods := c.clients.CoreV1().Pods(namespace)
	l, err := pods.List(ctx, opts)
	if err != nil {
		return fmt.Errorf("failed to get pod list with options: %+v with error: %w", opts, err)
	}
	for _, p := range l.Items {
		for _, ct := range p.Spec.Containers {
			rc, err := pods.GetLogs(p.Name, &corev1.PodLogOptions{Container: ct.Name}).Stream(ctx)
			if err != nil {
				return fmt.Errorf("Failed to stream pod logs for pod: %s, container: %s: %w", p.Name, ct.Name, err) //nolint:staticcheck // Helm's words
			}
			err = c.HookOutput(namespace, p.Name, ct.Name, rc)
			rc.Close()
			if err != nil {
				return fmt.Errorf("Failed to copy IO from logs for pod: %s, container: %s: %w", p.Name, ct.Name, err) //nolint:staticcheck // Helm's words
			}
		}
	}
	return nil
}

// hookNamespace is the namespace the hook's manifest names, else ns.
func hookNamespace(h *release.Hook, ns string) string {
	var m struct {
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if yaml.Unmarshal([]byte(h.Manifest), &m) == nil && m.Metadata.Namespace != "" {
		return m.Metadata.Namespace
	}
	return ns
}
