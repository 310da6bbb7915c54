package kube

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fixedSource serves the ReplicaSets and Pods a rule asks for.
type fixedSource struct {
	rss     []appsv1.ReplicaSet
	podList []corev1.Pod
}

func (f fixedSource) replicaSets(string) ([]appsv1.ReplicaSet, error) { return f.rss, nil }
func (f fixedSource) pods(string, *metav1.LabelSelector, map[string]string) ([]corev1.Pod, error) {
	return f.podList, nil
}

func res(t *testing.T, group, kind, js string) *Resource {
	t.Helper()
	u := obj(t, js)
	return &Resource{Object: u, Mapping: &meta.RESTMapping{
		GroupVersionKind: schema.GroupVersionKind{Group: group, Version: "v1", Kind: kind},
	}}
}

const depTmpl = `{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"c","image":"%IMG%"}]}}`

func deployment(replicas, gen, observed, maxUnavail string) string {
	strategy := `"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":` + maxUnavail + `}}`
	return `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w","namespace":"n","uid":"d1","generation":` + gen +
		`},"spec":{"replicas":` + replicas + `,` + strategy + `,"template":` + strings.ReplaceAll(depTmpl, "%IMG%", "nginx:2") +
		`},"status":{"observedGeneration":` + observed + `}}`
}

func replicaSet(t *testing.T, name, img string, ready int32, ts int64) appsv1.ReplicaSet {
	t.Helper()
	u := obj(t, `{"metadata":{"name":"`+name+`","generation":1,"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"w","uid":"d1","controller":true}],`+
		`"labels":{"pod-template-hash":"h"}},"spec":{"template":`+strings.ReplaceAll(depTmpl, "%IMG%", img)+`},"status":{"observedGeneration":1}}`)
	rs, err := fromUnstructured[appsv1.ReplicaSet](u)
	if err != nil {
		t.Fatal(err)
	}
	rs.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = name
	rs.Status.ReadyReplicas = ready
	rs.CreationTimestamp = metav1.Unix(ts, 0)
	return *rs
}

// Helm 3's readiness rules, kind by kind.
func TestLegacyReady(t *testing.T) {
	readyPod := corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	for _, tc := range []struct {
		name   string
		r      *Resource
		src    fixedSource
		ready  bool
		reason string // a part of the reason
		fails  bool
	}{
		{name: "deployment: new RS has replicas-maxUnavailable ready", r: res(t, "apps", "Deployment", deployment("4", "2", "2", "1")),
			src: fixedSource{rss: []appsv1.ReplicaSet{replicaSet(t, "old", "nginx:1", 4, 1), replicaSet(t, "new", "nginx:2", 3, 2)}}, ready: true},
		{name: "deployment: only the old RS is ready", r: res(t, "apps", "Deployment", deployment("4", "2", "2", "1")),
			src:    fixedSource{rss: []appsv1.ReplicaSet{replicaSet(t, "old", "nginx:1", 4, 1), replicaSet(t, "new", "nginx:2", 2, 2)}},
			reason: "2 out of 3 expected pods are ready"},
		{name: "deployment: maxUnavailable 50% of 4 rounds down to 2", r: res(t, "apps", "Deployment", deployment("4", "1", "1", `"50%"`)),
			src: fixedSource{rss: []appsv1.ReplicaSet{replicaSet(t, "new", "nginx:2", 2, 2)}}, ready: true},
		{name: "deployment: no new RS yet", r: res(t, "apps", "Deployment", deployment("1", "1", "1", "0")),
			src: fixedSource{rss: []appsv1.ReplicaSet{replicaSet(t, "old", "nginx:1", 1, 1)}}, reason: "new ReplicaSet"},
		{name: "deployment: generation not observed", r: res(t, "apps", "Deployment", deployment("1", "3", "2", "0")),
			src: fixedSource{rss: []appsv1.ReplicaSet{replicaSet(t, "new", "nginx:2", 1, 2)}}, reason: "observedGeneration (2)"},
		{name: "statefulset: partition 2 of 3 needs one updated", r: res(t, "apps", "StatefulSet",
			`{"metadata":{"generation":1},"spec":{"replicas":3,"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}},"status":{"observedGeneration":1,"updatedReplicas":1,"readyReplicas":3,"currentRevision":"a","updateRevision":"b"}}`),
			ready: true},
		{name: "statefulset: revisions differ without partition", r: res(t, "apps", "StatefulSet",
			`{"metadata":{"generation":1},"spec":{"replicas":3,"updateStrategy":{"type":"RollingUpdate"}},"status":{"observedGeneration":1,"updatedReplicas":3,"readyReplicas":3,"currentRevision":"a","updateRevision":"b"}}`),
			reason: "currentRevision a does not yet match updateRevision b"},
		{name: "statefulset: OnDelete is not waited for", r: res(t, "apps", "StatefulSet",
			`{"metadata":{"generation":1},"spec":{"replicas":3,"updateStrategy":{"type":"OnDelete"}},"status":{"observedGeneration":1}}`), ready: true},
		{name: "daemonset: ready within maxUnavailable", r: res(t, "apps", "DaemonSet",
			`{"metadata":{"generation":1},"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1}}},"status":{"observedGeneration":1,"desiredNumberScheduled":3,"updatedNumberScheduled":3,"numberReady":2}}`), ready: true},
		{name: "daemonset: not all scheduled", r: res(t, "apps", "DaemonSet",
			`{"metadata":{"generation":1},"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1}}},"status":{"observedGeneration":1,"desiredNumberScheduled":3,"updatedNumberScheduled":2,"numberReady":2}}`),
			reason: "2 out of 3 expected pods have been scheduled"},
		{name: "service: ClusterIP set", r: res(t, "", "Service", `{"spec":{"type":"ClusterIP","clusterIP":"10.96.0.9"}}`), ready: true},
		{name: "service: LoadBalancer without ingress", r: res(t, "", "Service", `{"spec":{"type":"LoadBalancer","clusterIP":"10.96.0.9"}}`), reason: "load balancer ingress"},
		{name: "service: LoadBalancer with ingress", r: res(t, "", "Service", `{"spec":{"type":"LoadBalancer","clusterIP":"10.96.0.9"},"status":{"loadBalancer":{"ingress":[{"ip":"1.2.3.4"}]}}}`), ready: true},
		{name: "service: ExternalName is skipped", r: res(t, "", "Service", `{"spec":{"type":"ExternalName","externalName":"x.example"}}`), ready: true},
		{name: "pvc: pending", r: res(t, "", "PersistentVolumeClaim", `{"status":{"phase":"Pending"}}`), reason: "not bound"},
		{name: "pvc: bound", r: res(t, "", "PersistentVolumeClaim", `{"status":{"phase":"Bound"}}`), ready: true},
		{name: "job: incomplete", r: res(t, "batch", "Job", `{"spec":{"completions":2,"backoffLimit":1},"status":{"succeeded":1}}`), reason: "not completed"},
		{name: "job: failed past its backoff limit", r: res(t, "batch", "Job", `{"metadata":{"name":"j","namespace":"n"},"spec":{"completions":1,"backoffLimit":1},"status":{"failed":2}}`), fails: true},
		{name: "pod: not ready", r: res(t, "", "Pod", `{"status":{"phase":"Pending"}}`), reason: "Pod is not ready"},
		{name: "replicaset: waits for its pods", r: res(t, "apps", "ReplicaSet", `{"metadata":{"generation":1},"spec":{"selector":{"matchLabels":{"a":"b"}}},"status":{"observedGeneration":1}}`),
			src: fixedSource{podList: []corev1.Pod{readyPod, {}}}, reason: "is not ready"},
		{name: "deployment: paused counts as ready, as in Helm 3", r: res(t, "apps", "Deployment", strings.Replace(deployment("1", "2", "1", "0"), `"spec":{`, `"spec":{"paused":true,`, 1)), ready: true},
		{name: "configmap: no rule", r: res(t, "", "ConfigMap", `{}`), ready: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := legacyReady(tc.r, tc.r.Object, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if (v.err != nil) != tc.fails {
				t.Fatalf("err = %v, want failure %v", v.err, tc.fails)
			}
			if v.ready != tc.ready || !strings.Contains(v.reason, tc.reason) {
				t.Errorf("ready=%v reason=%q, want ready=%v reason containing %q", v.ready, v.reason, tc.ready, tc.reason)
			}
		})
	}
}

func TestParseWaitStrategy(t *testing.T) {
	for in, want := range map[string]WaitStrategy{"": WaitNone, "false": WaitNone, "true": WaitLegacy, "legacy": WaitLegacy, "watcher": WaitWatcher, "hookOnly": WaitHookOnly} {
		if got, err := ParseWaitStrategy(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	if _, err := ParseWaitStrategy("sometimes"); err == nil || !strings.Contains(err.Error(), "Valid inputs are watcher, hookOnly, and legacy") {
		t.Errorf("a bad strategy: %v", err)
	}
}
