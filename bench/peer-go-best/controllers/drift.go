package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	ewv1 "elasticweb.local/bench/peer-go-best/api/v1"
)

// The drift check: the first field the operator owns that differs in the live object, or "" when
// none does. The same fields and exactness as mutateDeployment and mutateService set (and as ours
// checks, src/controllers/elasticweb/drift.ts). Written out field by field rather than "mutate a copy
// and compare with equality.Semantic.DeepEqual": a profile of a restart at 10,000 ElasticWebs showed
// that reflective comparison of whole objects (and the copies it needs) at 17% of the CPU.

func deploymentDrift(d *appsv1.Deployment, ew *ewv1.ElasticWeb, plan replicaPlan) string {
	if path := metaDrift(d.Labels, d.OwnerReferences, ew); path != "" {
		return path
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != plan.replicas {
		return "spec.replicas"
	}
	if s := d.Spec.Selector; s == nil || len(s.MatchExpressions) > 0 || len(s.MatchLabels) != 1 || s.MatchLabels[instanceLabel] != ew.Name {
		return "spec.selector"
	}
	if !hasOurLabels(d.Spec.Template.Labels, ew) {
		return "spec.template.metadata.labels"
	}
	var c *corev1.Container
	for i := range d.Spec.Template.Spec.Containers {
		if d.Spec.Template.Spec.Containers[i].Name == containerName {
			c = &d.Spec.Template.Spec.Containers[i]
		}
	}
	if c == nil {
		return "spec.template.spec.containers[web]"
	}
	if c.Image != ew.Spec.Image {
		return "spec.template.spec.containers[web].image"
	}
	if len(c.Ports) != 1 || c.Ports[0] != (corev1.ContainerPort{Name: portName, ContainerPort: containerPortOf(ew), Protocol: corev1.ProtocolTCP}) {
		return "spec.template.spec.containers[web].ports"
	}
	requests, limits := resourceLists(ew)
	if !sameQuantities(c.Resources.Requests, requests) || !sameQuantities(c.Resources.Limits, limits) {
		return "spec.template.spec.containers[web].resources"
	}
	if r := d.Spec.Strategy.RollingUpdate; r == nil || r.MaxUnavailable == nil || r.MaxUnavailable.IntValue() != 0 ||
		r.MaxSurge == nil || r.MaxSurge.String() != "25%" {
		return "spec.strategy"
	}
	if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != defaultTerminationGrace {
		return "spec.template.spec.terminationGracePeriodSeconds"
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/" || p.HTTPGet.Port.IntValue() != int(containerPortOf(ew)) ||
		p.PeriodSeconds != 2 || p.FailureThreshold != 2 || p.TimeoutSeconds != 1 {
		return "spec.template.spec.containers[web].readinessProbe"
	}
	if l := c.Lifecycle; l == nil || l.PreStop == nil || l.PreStop.Sleep == nil || l.PreStop.Sleep.Seconds != defaultPreStopDelay {
		return "spec.template.spec.containers[web].lifecycle"
	}
	if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || len(sc.Capabilities.Add) != 4 {
		return "spec.template.spec.containers[web].securityContext"
	}
	return ""
}

func disruptionBudgetDrift(p *policyv1.PodDisruptionBudget, ew *ewv1.ElasticWeb) string {
	if path := metaDrift(p.Labels, p.OwnerReferences, ew); path != "" {
		return path
	}
	if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.IntValue() != 1 || p.Spec.MinAvailable != nil {
		return "spec.maxUnavailable"
	}
	if s := p.Spec.Selector; s == nil || len(s.MatchExpressions) > 0 || len(s.MatchLabels) != 1 || s.MatchLabels[instanceLabel] != ew.Name {
		return "spec.selector"
	}
	return ""
}

func serviceDrift(s *corev1.Service, ew *ewv1.ElasticWeb) string {
	if path := metaDrift(s.Labels, s.OwnerReferences, ew); path != "" {
		return path
	}
	if s.Spec.Type != corev1.ServiceTypeNodePort {
		return "spec.type"
	}
	if len(s.Spec.Selector) != 1 || s.Spec.Selector[instanceLabel] != ew.Name {
		return "spec.selector"
	}
	port := containerPortOf(ew)
	if len(s.Spec.Ports) != 1 {
		return "spec.ports"
	}
	p := s.Spec.Ports[0]
	if p.Name != portName || p.Protocol != corev1.ProtocolTCP || p.Port != port || p.TargetPort != intstr.FromInt32(port) ||
		(ew.Spec.Port != nil && p.NodePort != *ew.Spec.Port) {
		return "spec.ports"
	}
	return ""
}

func metaDrift(labels map[string]string, refs []metav1.OwnerReference, ew *ewv1.ElasticWeb) string {
	if !hasOurLabels(labels, ew) {
		return "metadata.labels"
	}
	want := controllerRef(ew)
	for _, r := range refs {
		if r.UID == ew.UID {
			if r.APIVersion == want.APIVersion && r.Kind == want.Kind && r.Name == want.Name &&
				r.Controller != nil && *r.Controller && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
				return ""
			}
			break
		}
	}
	return "metadata.ownerReferences"
}

// hasOurLabels: every label the operator sets is there with its value (others may add more).
func hasOurLabels(labels map[string]string, ew *ewv1.ElasticWeb) bool {
	return labels["app.kubernetes.io/name"] == "elasticweb" && labels["app.kubernetes.io/instance"] == ew.Name &&
		labels[managedByLabel] == managedByValue && labels[instanceLabel] == ew.Name
}

// sameQuantities: the same resource names, each the same quantity by value ("0.5" is "500m").
func sameQuantities(have, want corev1.ResourceList) bool {
	if len(have) != len(want) {
		return false
	}
	for name, q := range want {
		h, ok := have[name]
		if !ok || h.Cmp(q) != 0 {
			return false
		}
	}
	return true
}
