package controllers

import (
	"fmt"
	"math"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ewv1 "elasticweb.local/bench/peer-go-best/api/v1"
)

// problem is why the operator could not make the world match the spec (the Degraded reason).
type problem struct{ reason, message string }

// computeStatus is ours (src/controllers/elasticweb/status.ts) in Go: realQPS from Ready pods,
// and the same three conditions with the same reasons and messages. meta.SetStatusCondition
// keeps lastTransitionTime unless a condition's status changes, as ours does.
// previous is the status last shown (the cache's, or the one this process wrote since).
func computeStatus(ew *ewv1.ElasticWeb, previous *ewv1.ElasticWebStatus, plan replicaPlan, d *appsv1.Deployment, s *corev1.Service, p *problem, now metav1.Time) ewv1.ElasticWebStatus {
	var ready int32
	if d != nil {
		ready = d.Status.ReadyReplicas
	}
	realQPS := int32(min(int64(ready)*int64(ew.Spec.SinglePodsQPS), math.MaxInt32))
	replicas := plan.replicas
	st := ewv1.ElasticWebStatus{
		RealQPS:            &realQPS,
		Replicas:           &replicas,
		ReadyReplicas:      &ready,
		Ready:              fmt.Sprintf("%d/%d", ready, plan.replicas),
		ObservedGeneration: ew.Generation,
		Conditions:         append([]metav1.Condition(nil), previous.Conditions...),
	}
	if s != nil && len(s.Spec.Ports) > 0 && s.Spec.Ports[0].NodePort != 0 {
		np := s.Spec.Ports[0].NodePort
		st.NodePort = &np
	}
	set := func(typ string, ok bool, reason, message string) {
		status := metav1.ConditionFalse
		if ok {
			status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: typ, Status: status, Reason: reason, Message: message,
			ObservedGeneration: ew.Generation, LastTransitionTime: now,
		})
	}
	served := fmt.Sprintf("%d/%d pods are Ready, serving %d QPS.", ready, plan.replicas, realQPS)
	switch {
	case d == nil:
		set("Available", false, "DeploymentNotFound", "The Deployment does not exist yet.")
	case plan.replicas == 0:
		set("Available", true, "ScaledToZero", "totalQPS is 0, so no pods are needed.")
	case ready >= plan.replicas:
		set("Available", true, "ReplicasReady", served)
	default:
		set("Available", false, "ReplicasNotReady", served)
	}
	switch {
	case d == nil && p != nil:
		set("Progressing", false, p.reason, p.message)
	case d == nil:
		set("Progressing", true, "Creating", "Creating the Deployment.")
	default:
		ds := d.Status
		settled := ds.ObservedGeneration >= d.Generation && d.Spec.Replicas != nil && *d.Spec.Replicas == plan.replicas &&
			ds.UpdatedReplicas == plan.replicas && ds.Replicas == plan.replicas && ready == plan.replicas
		if settled {
			set("Progressing", false, "RolloutComplete", fmt.Sprintf("%d up-to-date pods are Ready.", plan.replicas))
		} else {
			set("Progressing", true, "RollingOut", fmt.Sprintf("%d of %d pods updated, %d Ready, %d in total.", ds.UpdatedReplicas, plan.replicas, ready, ds.Replicas))
		}
	}
	switch {
	case p != nil:
		set("Degraded", true, p.reason, p.message)
	case plan.capped:
		total := int32(0)
		if ew.Spec.TotalQPS != nil {
			total = *ew.Spec.TotalQPS
		}
		set("Degraded", true, "MaxReplicasReached", fmt.Sprintf("totalQPS %d needs %d pods but maxReplicas is %d: at most %d QPS can be served.",
			total, plan.needed, plan.maxReplicas, int64(plan.maxReplicas)*int64(ew.Spec.SinglePodsQPS)))
	default:
		set("Degraded", false, "AsExpected", "The Deployment and the Service match the spec.")
	}
	return st
}
