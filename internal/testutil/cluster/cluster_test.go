package cluster_test

import (
	"context"
	"os"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chartd/chartd/internal/testutil/cluster"
)

func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }

// The control plane answers with the pinned version, the controllers run
// (a new namespace gets its default ServiceAccount) and namespaces are
// private to each test.
func TestControlPlane(t *testing.T) {
	cs := cluster.Clientset(t)
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v1.35.4" {
		t.Errorf("server version %q, want v1.35.4 (the -X ldflags are missing?)", v.GitVersion)
	}
	ns := cluster.Namespace(t)
	ctx := context.Background()
	w, err := cs.CoreV1().ServiceAccounts(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=default"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
		<-w.ResultChan() // made by the ServiceAccount controller
	}
}
