package kube

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file holds Helm 3's readiness rules (its pkg/kube/ready.go), the
// "legacy" wait strategy: each kind that has a rule is read from the
// cluster and judged on its typed status; every other kind is ready once
// it exists.

// legacyKinds are the group/kinds Helm 3 has a rule for. Jobs count only
// with --wait-for-jobs.
var legacyKinds = map[string]bool{
	"/Pod": true, "/PersistentVolumeClaim": true, "/Service": true, "/ReplicationController": true,
	"apps/Deployment": true, "extensions/Deployment": true,
	"apps/DaemonSet": true, "extensions/DaemonSet": true,
	"apps/StatefulSet": true, "apps/ReplicaSet": true, "extensions/ReplicaSet": true,
	"batch/Job": true,
	"apiextensions.k8s.io/CustomResourceDefinition": true,
}

func groupKind(r *Resource) string {
	gk := r.Mapping.GroupVersionKind.GroupKind()
	return gk.Group + "/" + gk.Kind
}

// hasLegacyRule tells whether the legacy strategy reads r at all.
func hasLegacyRule(r *Resource, jobs bool) bool {
	gk := groupKind(r)
	if gk == "batch/Job" {
		return jobs
	}
	return legacyKinds[gk]
}

// readiness is one verdict: ready, or why not. A non-nil err is final:
// waiting longer will not help (a failed Job).
type readiness struct {
	ready  bool
	reason string
	err    error
}

func notReady(format string, a ...any) readiness {
	return readiness{reason: fmt.Sprintf(format, a...)}
}

var isReady = readiness{ready: true}

// podSource lists what some rules need besides the object itself: the
// ReplicaSets a Deployment owns, and the pods of a selector.
type podSource interface {
	replicaSets(namespace string) ([]appsv1.ReplicaSet, error)
	pods(namespace string, selector *metav1.LabelSelector, set map[string]string) ([]corev1.Pod, error)
}

func fromUnstructured[T any](u *unstructured.Unstructured) (*T, error) {
	var out T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// legacyReady judges live by Helm 3's rule for its kind.
func legacyReady(r *Resource, live *unstructured.Unstructured, src podSource) (readiness, error) {
	switch groupKind(r) {
	case "/Pod":
		pod, err := fromUnstructured[corev1.Pod](live)
		if err != nil {
			return readiness{}, err
		}
		return podReady(pod), nil
	case "batch/Job":
		job, err := fromUnstructured[batchv1.Job](live)
		if err != nil {
			return readiness{}, err
		}
		return jobReady(job), nil
	case "apps/Deployment", "extensions/Deployment":
		dep, err := fromUnstructured[appsv1.Deployment](live)
		if err != nil {
			return readiness{}, err
		}
		if dep.Spec.Paused {
			// A paused Deployment never rolls out: Helm 3's wait counts
			// it ready, and Helm 4's watcher skips it.
			return isReady, nil
		}
		rss, err := src.replicaSets(dep.Namespace)
		if err != nil {
			return readiness{}, err
		}
		rs := newReplicaSet(dep, rss)
		if rs == nil {
			return notReady("new ReplicaSet not created yet"), nil
		}
		return deploymentReady(rs, dep), nil
	case "/PersistentVolumeClaim":
		pvc, err := fromUnstructured[corev1.PersistentVolumeClaim](live)
		if err != nil {
			return readiness{}, err
		}
		if pvc.Status.Phase != corev1.ClaimBound {
			return notReady("PersistentVolumeClaim is not bound"), nil
		}
		return isReady, nil
	case "/Service":
		svc, err := fromUnstructured[corev1.Service](live)
		if err != nil {
			return readiness{}, err
		}
		return serviceReady(svc), nil
	case "apps/DaemonSet", "extensions/DaemonSet":
		ds, err := fromUnstructured[appsv1.DaemonSet](live)
		if err != nil {
			return readiness{}, err
		}
		return daemonSetReady(ds), nil
	case "apps/StatefulSet":
		sts, err := fromUnstructured[appsv1.StatefulSet](live)
		if err != nil {
			return readiness{}, err
		}
		return statefulSetReady(sts), nil
	case "apiextensions.k8s.io/CustomResourceDefinition":
		if crdReady(live) {
			return isReady, nil
		}
		return notReady("CustomResourceDefinition is not established"), nil
	case "/ReplicationController":
		rc, err := fromUnstructured[corev1.ReplicationController](live)
		if err != nil {
			return readiness{}, err
		}
		if rc.Status.ObservedGeneration != rc.Generation {
			return notReady("observedGeneration (%d) does not match spec generation (%d)", rc.Status.ObservedGeneration, rc.Generation), nil
		}
		return podsReady(src, rc.Namespace, nil, rc.Spec.Selector)
	case "apps/ReplicaSet", "extensions/ReplicaSet":
		rs, err := fromUnstructured[appsv1.ReplicaSet](live)
		if err != nil {
			return readiness{}, err
		}
		if rs.Status.ObservedGeneration != rs.Generation {
			return notReady("observedGeneration (%d) does not match spec generation (%d)", rs.Status.ObservedGeneration, rs.Generation), nil
		}
		return podsReady(src, rs.Namespace, rs.Spec.Selector, nil)
	}
	return isReady, nil
}

func podReady(pod *corev1.Pod) readiness {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return isReady
		}
	}
	return notReady("Pod is not ready")
}

func podsReady(src podSource, ns string, sel *metav1.LabelSelector, set map[string]string) (readiness, error) {
	pods, err := src.pods(ns, sel, set)
	if err != nil {
		return readiness{}, err
	}
	for i := range pods {
		if r := podReady(&pods[i]); !r.ready {
			return notReady("Pod %s/%s is not ready", ns, pods[i].Name), nil
		}
	}
	return isReady, nil
}

func jobReady(job *batchv1.Job) readiness {
	backoff := int32(6) // the apiserver's default
	if job.Spec.BackoffLimit != nil {
		backoff = *job.Spec.BackoffLimit
	}
	if job.Status.Failed > backoff {
		return readiness{err: fmt.Errorf("job is failed: %s/%s", job.Namespace, job.Name)}
	}
	if job.Spec.Completions != nil && job.Status.Succeeded < *job.Spec.Completions {
		return notReady("Job is not completed")
	}
	return isReady
}

func serviceReady(s *corev1.Service) readiness {
	// An ExternalName Service points outside the cluster: nothing to wait for.
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		return isReady
	}
	if s.Spec.ClusterIP == "" {
		return notReady("Service does not have cluster IP address")
	}
	if s.Spec.Type == corev1.ServiceTypeLoadBalancer && len(s.Spec.ExternalIPs) == 0 && s.Status.LoadBalancer.Ingress == nil {
		return notReady("Service does not have load balancer ingress IP address")
	}
	return isReady
}

// newReplicaSet is the Deployment's ReplicaSet whose pod template is the
// Deployment's (ignoring the pod-template-hash label), the oldest if
// several are: what the deployment controller calls the new one.
func newReplicaSet(dep *appsv1.Deployment, rss []appsv1.ReplicaSet) *appsv1.ReplicaSet {
	var owned []*appsv1.ReplicaSet
	for i := range rss {
		if ref := metav1.GetControllerOf(&rss[i]); ref != nil && ref.UID == dep.UID {
			owned = append(owned, &rss[i])
		}
	}
	sort.SliceStable(owned, func(i, j int) bool {
		a, b := owned[i].CreationTimestamp, owned[j].CreationTimestamp
		if a.Equal(&b) {
			return owned[i].Name < owned[j].Name
		}
		return a.Before(&b)
	})
	for _, rs := range owned {
		if equalIgnoreHash(&rs.Spec.Template, &dep.Spec.Template) {
			return rs
		}
	}
	return nil
}

func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(b.Labels) == 0 {
		b.Labels = nil
	}
	return apiequality.Semantic.DeepEqual(a, b)
}

// maxUnavailable is the deployment controller's: the rolling update's
// maxUnavailable scaled down, at least 1 when maxSurge is also 0, at
// most the replicas.
func maxUnavailable(dep *appsv1.Deployment) int32 {
	replicas := int32(1)
	if dep.Spec.Replicas != nil {
		replicas = *dep.Spec.Replicas
	}
	ru := dep.Spec.Strategy.RollingUpdate
	if dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || replicas == 0 || ru == nil {
		return 0
	}
	quarter := intstr.FromString("25%")
	surgeV, unavailV := &quarter, &quarter
	if ru.MaxSurge != nil {
		surgeV = ru.MaxSurge
	}
	if ru.MaxUnavailable != nil {
		unavailV = ru.MaxUnavailable
	}
	surge, err := intstr.GetScaledValueFromIntOrPercent(surgeV, int(replicas), true)
	if err != nil {
		return 0
	}
	unavail, err := intstr.GetScaledValueFromIntOrPercent(unavailV, int(replicas), false)
	if err != nil {
		return 0
	}
	if surge == 0 && unavail == 0 {
		unavail = 1
	}
	return min(int32(unavail), replicas)
}

func deploymentReady(rs *appsv1.ReplicaSet, dep *appsv1.Deployment) readiness {
	if rs.Status.ObservedGeneration != rs.Generation {
		return notReady("ReplicaSet %s: observedGeneration (%d) does not match spec generation (%d)", rs.Name, rs.Status.ObservedGeneration, rs.Generation)
	}
	if dep.Status.ObservedGeneration != dep.Generation {
		return notReady("observedGeneration (%d) does not match spec generation (%d)", dep.Status.ObservedGeneration, dep.Generation)
	}
	replicas := int32(1)
	if dep.Spec.Replicas != nil {
		replicas = *dep.Spec.Replicas
	}
	expected := replicas - maxUnavailable(dep)
	if rs.Status.ReadyReplicas < expected {
		return notReady("%d out of %d expected pods are ready", rs.Status.ReadyReplicas, expected)
	}
	return isReady
}

func daemonSetReady(ds *appsv1.DaemonSet) readiness {
	if ds.Status.ObservedGeneration != ds.Generation {
		return notReady("observedGeneration (%d) does not match spec generation (%d)", ds.Status.ObservedGeneration, ds.Generation)
	}
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		return isReady
	}
	desired := ds.Status.DesiredNumberScheduled
	if ds.Status.UpdatedNumberScheduled != desired {
		return notReady("%d out of %d expected pods have been scheduled", ds.Status.UpdatedNumberScheduled, desired)
	}
	unavail := int(desired)
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		if v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, int(desired), true); err == nil {
			unavail = v
		}
	}
	if expected := int(desired) - unavail; int(ds.Status.NumberReady) < expected {
		return notReady("%d out of %d expected pods are ready", ds.Status.NumberReady, expected)
	}
	return isReady
}

func statefulSetReady(sts *appsv1.StatefulSet) readiness {
	if sts.Status.ObservedGeneration != sts.Generation {
		return notReady("observedGeneration (%d) does not match spec generation (%d)", sts.Status.ObservedGeneration, sts.Generation)
	}
	if sts.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		return isReady
	}
	partition, replicas := 0, 1
	if ru := sts.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	if sts.Spec.Replicas != nil {
		replicas = int(*sts.Spec.Replicas)
	}
	// With a partition only the ordinals at or above it are updated.
	if expected := replicas - partition; int(sts.Status.UpdatedReplicas) < expected {
		return notReady("%d out of %d expected pods have been scheduled", sts.Status.UpdatedReplicas, expected)
	}
	if int(sts.Status.ReadyReplicas) != replicas {
		return notReady("%d out of %d expected pods are ready", sts.Status.ReadyReplicas, replicas)
	}
	// A partitioned rollout never makes the revisions meet.
	if partition == 0 && sts.Status.CurrentRevision != sts.Status.UpdateRevision {
		return notReady("currentRevision %s does not yet match updateRevision %s", sts.Status.CurrentRevision, sts.Status.UpdateRevision)
	}
	return isReady
}

// crdReady: Established, or NamesAccepted false (a naming conflict, which
// waiting does not cure and Helm lets pass).
func crdReady(crd *unstructured.Unstructured) bool {
	return crdEstablished(crd) || crdCondition(crd, "NamesAccepted", "False")
}
