package releases

import (
	"context"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

// kubelet plays a node's kubelet for the hook pods of some namespaces
// (there is none in the test cluster): each new pod that is a hook or a
// Job's gets the phase its name asks for, and the order in which they
// appeared is recorded.
type kubelet struct {
	mu   sync.Mutex
	seen map[string][]string
}

// Pod names that ask for a phase; any other hook pod succeeds.
const (
	podFails = "bad"  // a pod whose name starts so fails
	podHangs = "hang" // ... is left pending
)

func runKubelet(t *testing.T, namespaces ...string) *kubelet {
	t.Helper()
	cs := cluster.Clientset(t)
	k := &kubelet{seen: map[string][]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, ns := range namespaces {
		w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range w.ResultChan() {
				p, ok := e.Object.(*corev1.Pod)
				if e.Type != watch.Added || !ok {
					continue
				}
				name, isHook := p.Name, p.Annotations["helm.sh/hook"] != ""
				if j := p.Labels["job-name"]; j != "" {
					name, isHook = "job/"+j, true
				}
				if !isHook {
					continue
				}
				k.mu.Lock()
				k.seen[ns] = append(k.seen[ns], name)
				k.mu.Unlock()
				phase := corev1.PodSucceeded
				switch {
				case hasPrefix(name, podHangs) || hasPrefix(name, "job/"+podHangs):
					continue
				case hasPrefix(name, podFails) || hasPrefix(name, "job/"+podFails):
					phase = corev1.PodFailed
				}
				patch := fmt.Sprintf(`{"status":{"phase":%q}}`, phase)
				_, err := cs.CoreV1().Pods(ns).Patch(ctx, p.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
				if err != nil && ctx.Err() == nil {
					t.Errorf("kubelet: %s/%s: %v", ns, p.Name, err)
				}
			}
		}()
		t.Cleanup(w.Stop)
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return k
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// pods returns the hook pods seen in ns so far, in order, and forgets them.
func (k *kubelet) pods(ns string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := k.seen[ns]
	delete(k.seen, ns)
	return out
}
