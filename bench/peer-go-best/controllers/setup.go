package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	ewv1 "elasticweb.local/bench/peer-go-best/api/v1"
)

// SetupWithManager wires For(ElasticWeb).Owns(Deployment).Owns(Service).Owns(PodDisruptionBudget) with 5 workers.
//
// GenerationChangedPredicate on the ElasticWeb only: its status-only updates are the echo of our
// own status writes. The children get no predicate: a Deployment's status (Ready pods) is what
// realQPS reports, and a Service has no generation at all.
func SetupWithManager(mgr ctrl.Manager, workers int) error {
	r := &Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("elasticweb-go-best"),
		recent:    newRecentWrites(),
		verified:  newVerifiedSet(),
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("elasticweb").
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		For(&ewv1.ElasticWeb{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Complete(r)
}
