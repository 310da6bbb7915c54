package cluster

import (
	"context"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// readyPatch is what a kubelet reports of a pod whose containers run and
// pass their probes; succeededPatch of one whose containers exited 0.
const (
	readyPatch     = `{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"},{"type":"ContainersReady","status":"True"}]}}`
	succeededPatch = `{"status":{"phase":"Succeeded","conditions":[{"type":"Ready","status":"False","reason":"PodCompleted"}]}}`
)

// MarkPodsReady plays the kubelet for namespace ns, which the test
// cluster has none of: every pod there, existing or created later, is
// patched Ready, so the real ReplicaSet, Deployment, StatefulSet and Job
// controllers see ready replicas. It runs until stop is called or the
// test ends.
func MarkPodsReady(tb testing.TB, cs kubernetes.Interface, ns string) (stop func()) {
	tb.Helper()
	return markPods(tb, cs, ns, readyPatch, podReady)
}

// MarkPodsSucceeded is MarkPodsReady for pods that run to completion (a
// Job's): every pod of ns is patched Succeeded, so the real Job
// controller completes the Job.
func MarkPodsSucceeded(tb testing.TB, cs kubernetes.Interface, ns string) (stop func()) {
	tb.Helper()
	return markPods(tb, cs, ns, succeededPatch, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
}

func markPods(tb testing.TB, cs kubernetes.Interface, ns, patch string, done func(*corev1.Pod) bool) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted || pod.DeletionTimestamp != nil || done(pod) {
				continue
			}
			_, err := cs.CoreV1().Pods(ns).Patch(ctx, pod.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
			if err != nil && ctx.Err() == nil && !apierrors.IsNotFound(err) {
				tb.Logf("patching pod %s/%s: %v", ns, pod.Name, err)
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			w.Stop()
			wg.Wait()
		})
	}
	tb.Cleanup(stop)
	return stop
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
