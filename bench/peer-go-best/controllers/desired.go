package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	ewv1 "elasticweb.local/bench/peer-go-best/api/v1"
)

// Names and labels are the ones our operator uses (src/controllers/elasticweb/desired.ts), so
// the bench sees the same objects from either. Only the field manager differs, so the API
// server's managedFields say who wrote what.
const (
	fieldManager   = "elasticweb-go-best"
	managedByLabel = "app.kubernetes.io/managed-by"
	managedByValue = "elasticweb-operator"
	instanceLabel  = "elasticweb.example.com/instance"
	containerName  = "web"
	portName       = "http"

	defaultContainerPort = 80
	defaultMaxReplicas   = 100
)

// replicaPlan is min(ceil(totalQPS / singlePodsQPS), maxReplicas), as ours computes it.
type replicaPlan struct {
	replicas, needed, maxReplicas int32
	capped                        bool
}

func planFor(spec *ewv1.ElasticWebSpec) replicaPlan {
	total := int64(0)
	if spec.TotalQPS != nil && *spec.TotalQPS > 0 {
		total = int64(*spec.TotalQPS)
	}
	single := int64(max(spec.SinglePodsQPS, 1))
	maxReplicas := int32(defaultMaxReplicas)
	if spec.MaxReplicas != nil {
		maxReplicas = *spec.MaxReplicas
	}
	needed := int32((total + single - 1) / single)
	return replicaPlan{replicas: min(needed, maxReplicas), needed: needed, maxReplicas: maxReplicas, capped: needed > maxReplicas}
}

func selectorLabels(ew *ewv1.ElasticWeb) map[string]string {
	return map[string]string{instanceLabel: ew.Name}
}

func objectLabels(ew *ewv1.ElasticWeb) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":     "elasticweb",
		"app.kubernetes.io/instance": ew.Name,
		managedByLabel:               managedByValue,
		instanceLabel:                ew.Name,
	}
}

func containerPortOf(ew *ewv1.ElasticWeb) int32 {
	if ew.Spec.ContainerPort != nil {
		return *ew.Spec.ContainerPort
	}
	return defaultContainerPort
}

// resourceLists are spec.resources' requests and limits, or the CRD's default when absent (the API
// server defaults it, so this matters only for objects written before the default existed). Shared,
// not copied: callers only read them.
func resourceLists(ew *ewv1.ElasticWeb) (requests, limits corev1.ResourceList) {
	if ew.Spec.Resources != nil {
		return ew.Spec.Resources.Requests, ew.Spec.Resources.Limits
	}
	return defaultResources, defaultResources
}

var defaultResources = corev1.ResourceList{
	corev1.ResourceCPU:    resource.MustParse("100m"),
	corev1.ResourceMemory: resource.MustParse("512Mi"),
}

func controllerRef(ew *ewv1.ElasticWeb) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion: ewv1.GroupVersion.String(), Kind: "ElasticWeb", Name: ew.Name, UID: ew.UID,
		Controller: &yes, BlockOwnerDeletion: &yes,
	}
}

// setMeta puts our labels and controller reference on an object, keeping what others added.
func setMeta(m *metav1.ObjectMeta, ew *ewv1.ElasticWeb) {
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	for k, v := range objectLabels(ew) {
		m.Labels[k] = v
	}
	ref := controllerRef(ew)
	for i := range m.OwnerReferences {
		if m.OwnerReferences[i].UID == ew.UID {
			m.OwnerReferences[i] = ref
			return
		}
	}
	m.OwnerReferences = append(m.OwnerReferences, ref)
}

// mutateDeployment sets every field the operator owns on d: a new object, or a copy of the live
// one when deploymentDrift found a difference; the difference between the two is the patch. Exact
// where ours is exact (selector, container ports, resources): an extra entry someone added goes.
func mutateDeployment(d *appsv1.Deployment, ew *ewv1.ElasticWeb, plan replicaPlan) {
	setMeta(&d.ObjectMeta, ew)
	replicas := plan.replicas
	d.Spec.Replicas = &replicas
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: selectorLabels(ew)}
	if d.Spec.Template.Labels == nil {
		d.Spec.Template.Labels = map[string]string{}
	}
	for k, v := range objectLabels(ew) {
		d.Spec.Template.Labels[k] = v
	}
	var c *corev1.Container
	for i := range d.Spec.Template.Spec.Containers {
		if d.Spec.Template.Spec.Containers[i].Name == containerName {
			c = &d.Spec.Template.Spec.Containers[i]
		}
	}
	if c == nil {
		d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: containerName})
		c = &d.Spec.Template.Spec.Containers[len(d.Spec.Template.Spec.Containers)-1]
	}
	c.Image = ew.Spec.Image
	c.Ports = []corev1.ContainerPort{{Name: portName, ContainerPort: containerPortOf(ew), Protocol: corev1.ProtocolTCP}}
	requests, limits := resourceLists(ew)
	c.Resources.Requests = requests.DeepCopy()
	c.Resources.Limits = limits.DeepCopy()
	// The workload ours runs (issue 10): a readiness probe, rollouts that keep capacity, a pre-stop
	// sleep inside a grace period, least-privilege defaults. The bench's ElasticWebs use the defaults.
	zero, surge := intstr.FromInt32(0), intstr.FromString("25%")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &surge}}
	grace := int64(defaultTerminationGrace)
	d.Spec.Template.Spec.TerminationGracePeriodSeconds = &grace
	c.ReadinessProbe = defaultReadinessProbe(containerPortOf(ew))
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: defaultPreStopDelay}}}
	c.SecurityContext = defaultSecurityContext()
}

const (
	defaultTerminationGrace = 30
	defaultPreStopDelay     = 10
)

// defaultReadinessProbe is ours: GET / on the container port every 2 s, every default spelled out.
func defaultReadinessProbe(port int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(port), Scheme: corev1.URISchemeHTTP}},
		TimeoutSeconds: 1, PeriodSeconds: 2, SuccessThreshold: 1, FailureThreshold: 2,
	}
}

func defaultSecurityContext() *corev1.SecurityContext {
	no := false
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no,
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"},
			Add: []corev1.Capability{"CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// mutateDisruptionBudget: at most one pod evicted at a time, selecting the Deployment's pods, as ours.
func mutateDisruptionBudget(p *policyv1.PodDisruptionBudget, ew *ewv1.ElasticWeb) {
	setMeta(&p.ObjectMeta, ew)
	one := intstr.FromInt32(1)
	p.Spec.MaxUnavailable = &one
	p.Spec.MinAvailable = nil
	p.Spec.Selector = &metav1.LabelSelector{MatchLabels: selectorLabels(ew)}
}

// mutateService sets every field the operator owns on s (serviceDrift checks the same). Without
// spec.port the NodePort the API server assigned is kept.
func mutateService(s *corev1.Service, ew *ewv1.ElasticWeb) {
	setMeta(&s.ObjectMeta, ew)
	port := containerPortOf(ew)
	var nodePort int32
	for _, p := range s.Spec.Ports {
		if p.Port == port && (p.Protocol == corev1.ProtocolTCP || p.Protocol == "") {
			nodePort = p.NodePort
		}
	}
	if ew.Spec.Port != nil {
		nodePort = *ew.Spec.Port
	}
	s.Spec.Type = corev1.ServiceTypeNodePort
	s.Spec.Selector = selectorLabels(ew)
	s.Spec.Ports = []corev1.ServicePort{{
		Name: portName, Protocol: corev1.ProtocolTCP, Port: port,
		TargetPort: intstr.FromInt32(port), NodePort: nodePort,
	}}
}
