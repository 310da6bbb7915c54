package lint

import (
	"errors"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/chartd/chartd/engine"
)

// The lifecycle methods k8s.io/api generates for every served type
// (zz_generated.prerelease-lifecycle.go); Kubernetes' own deprecation
// warnings read the same ones.
type (
	lifecycleDeprecated interface {
		APILifecycleDeprecated() (major, minor int)
	}
	lifecycleRemoved interface {
		APILifecycleRemoved() (major, minor int)
	}
	lifecycleReplacement interface {
		APILifecycleReplacement() schema.GroupVersionKind
	}
)

// noDeprecations warns about an object whose apiVersion and kind are
// deprecated at the target Kubernetes version (--kube-version, else the
// client's default), in the words of the API server's own warning. Kinds
// the client-go scheme does not know (custom resources) pass.
func noDeprecations(obj *object, kv *engine.KubeVersion) error {
	if obj.APIVersion == "" || obj.Kind == "" {
		return nil
	}
	if kv == nil {
		kv = &engine.DefaultCapabilities().KubeVersion
	}
	gvk := schema.FromAPIVersionAndKind(obj.APIVersion, obj.Kind)
	typed, err := kscheme.Scheme.New(gvk)
	if err != nil {
		if runtime.IsNotRegisteredError(err) {
			return nil
		}
		return err
	}
	major, err := strconv.Atoi(kv.Major)
	if err != nil {
		return err
	}
	minor, err := strconv.Atoi(kv.Minor)
	if err != nil {
		return err
	}
	dep, ok := typed.(lifecycleDeprecated)
	if !ok {
		return nil
	}
	dMajor, dMinor := dep.APILifecycleDeprecated()
	if dMajor == 0 && dMinor == 0 {
		return nil
	}
	if (major != 0 || minor != 0) && (dMajor > major || dMajor == major && dMinor > minor) {
		return nil
	}
	msg := fmt.Sprintf("%s %s is deprecated in v%d.%d+", gvk.GroupVersion(), gvk.Kind, dMajor, dMinor)
	if rm, ok := typed.(lifecycleRemoved); ok {
		if rMajor, rMinor := rm.APILifecycleRemoved(); rMajor != 0 || rMinor != 0 {
			msg += fmt.Sprintf(", unavailable in v%d.%d+", rMajor, rMinor)
		}
	}
	if rp, ok := typed.(lifecycleReplacement); ok {
		if r := rp.APILifecycleReplacement(); !r.Empty() {
			msg += fmt.Sprintf("; use %s %s", r.GroupVersion(), r.Kind)
		}
	}
	return errors.New(msg)
}
