package controllers

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ewv1 "elasticweb.local/bench/peer-go-best/api/v1"
)

func sample() *ewv1.ElasticWeb {
	total := int32(300)
	return &ewv1.ElasticWeb{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "dev", UID: "u1", Generation: 2},
		Spec:       ewv1.ElasticWebSpec{Image: "nginx:1.27", SinglePodsQPS: 100, TotalQPS: &total},
	}
}

// A converged object shows no drift, fields others own are not drift, every hand edit of a field
// we own is, and mutate puts each of them right.
func TestDriftOnlyInWhatWeOwn(t *testing.T) {
	ew := sample()
	plan := planFor(&ew.Spec)
	live := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "dev"}}
	mutateDeployment(live, ew, plan)
	if d := deploymentDrift(live, ew, plan); d != "" {
		t.Fatalf("a converged Deployment shows drift at %s", d)
	}

	theirs := live.DeepCopy()
	theirs.Labels["team"] = "web"
	theirs.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "b"}}
	theirs.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("0.1")
	if d := deploymentDrift(theirs, ew, plan); d != "" {
		t.Fatalf("fields someone else owns (or the same quantity written differently) count as drift at %s", d)
	}

	for want, edit := range map[string]func(d *appsv1.Deployment){
		"spec.template.spec.containers[web].image": func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "evil:1" },
		"spec.replicas":            func(d *appsv1.Deployment) { r := int32(7); d.Spec.Replicas = &r },
		"spec.selector":            func(d *appsv1.Deployment) { d.Spec.Selector.MatchLabels["x"] = "y" },
		"metadata.labels":          func(d *appsv1.Deployment) { delete(d.Labels, instanceLabel) },
		"metadata.ownerReferences": func(d *appsv1.Deployment) { d.OwnerReferences = nil },
		"spec.template.spec.containers[web].ports": func(d *appsv1.Deployment) {
			c := &d.Spec.Template.Spec.Containers[0]
			c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: 9090})
		},
		"spec.template.spec.containers[web].resources": func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Resources.Requests["nvidia.com/gpu"] = resource.MustParse("1")
		},
	} {
		edited := live.DeepCopy()
		edit(edited)
		if got := deploymentDrift(edited, ew, plan); got != want {
			t.Errorf("drift at %q, want %q", got, want)
		}
		mutateDeployment(edited, ew, plan)
		if got := deploymentDrift(edited, ew, plan); got != "" {
			t.Errorf("%s: still drift at %q after mutate", want, got)
		}
	}
}

func TestServiceDriftKeepsTheAssignedNodePort(t *testing.T) {
	ew := sample()
	live := &corev1.Service{}
	mutateService(live, ew)
	live.Spec.Ports[0].NodePort = 31000 // assigned by the API server
	if d := serviceDrift(live, ew); d != "" {
		t.Fatalf("an assigned NodePort counts as drift at %s", d)
	}
	again := live.DeepCopy()
	mutateService(again, ew)
	if !equality.Semantic.DeepEqual(live, again) {
		t.Fatal("mutate changes a converged Service")
	}
	live.Spec.Selector["extra"] = "x"
	if d := serviceDrift(live, ew); d != "spec.selector" {
		t.Fatalf("an extra selector key: drift at %q", d)
	}
}

// The status ours writes for a Deployment just created (see src/controllers/elasticweb/status.ts).
func TestStatusOfANewDeployment(t *testing.T) {
	ew := sample()
	plan := planFor(&ew.Spec)
	d := &appsv1.Deployment{}
	mutateDeployment(d, ew, plan)
	s := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{NodePort: 31000}}}}
	st := computeStatus(ew, &ew.Status, plan, d, s, nil, metav1.Now())
	if *st.Replicas != 3 || *st.RealQPS != 0 || st.Ready != "0/3" || *st.NodePort != 31000 || st.ObservedGeneration != 2 {
		t.Fatalf("unexpected status %+v", st)
	}
	reasons := map[string]string{}
	for _, c := range st.Conditions {
		reasons[c.Type] = c.Reason
		if c.ObservedGeneration != 2 {
			t.Errorf("%s: observedGeneration %d", c.Type, c.ObservedGeneration)
		}
	}
	want := map[string]string{"Available": "ReplicasNotReady", "Progressing": "RollingOut", "Degraded": "AsExpected"}
	if !equality.Semantic.DeepEqual(reasons, want) {
		t.Fatalf("reasons %v, want %v", reasons, want)
	}
	// The same observation again changes nothing (no status write on a no-op pass).
	if next := computeStatus(ew, &st, plan, d, s, nil, metav1.Now()); !equality.Semantic.DeepEqual(next, st) {
		t.Fatal("a second pass changes the status")
	}
	if st := computeStatus(ew, &ewv1.ElasticWebStatus{}, plan, nil, nil, nil, metav1.Now()); st.Conditions[0].Reason != "DeploymentNotFound" {
		t.Fatalf("no Deployment: %v", st.Conditions[0])
	}
}
