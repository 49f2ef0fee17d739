package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	elasticwebv1 "elasticweb.local/bench/baseline-go/api/v1"
)

// ElasticWebReconciler reconciles ElasticWeb objects.
type ElasticWebReconciler struct {
	client.Client
	Scheme *runtime.Scheme
}

// RBAC the controller needs (kubebuilder markers, informational only here):
//+kubebuilder:rbac:groups=elasticweb.example.com,resources=elasticwebs,verbs=get;list;watch;create;update;patch;delete
//+kubebuilder:rbac:groups=elasticweb.example.com,resources=elasticwebs/status,verbs=get;update;patch
//+kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
//+kubebuilder:rbac:groups=core,resources=services,verbs=get;list;watch;create;update;patch;delete

// Reconcile implements the article's algorithm.
func (r *ElasticWebReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)

	instance := &elasticwebv1.ElasticWeb{}
	if err := r.Get(ctx, req.NamespacedName, instance); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	logger.Info(fmt.Sprintf("instance:%s", instance.String()))

	deploy := &appsv1.Deployment{}
	if err := r.Get(ctx, req.NamespacedName, deploy); err != nil {
		if !apierrors.IsNotFound(err) {
			logger.Error(err, "failed to get deploy")
			return ctrl.Result{}, err
		}

		// No Deployment yet: create everything, unless no QPS is wanted.
		logger.Info("deploy not exists")
		if int32Value(instance.Spec.TotalQPS) < 1 {
			logger.Info("not need deployment")
			return ctrl.Result{}, nil
		}
		if err := createService(ctx, r, instance); err != nil {
			return ctrl.Result{}, err
		}
		if err := createDeployment(ctx, r, instance); err != nil {
			return ctrl.Result{}, err
		}
		if err := updateStatus(ctx, r, instance); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, nil
	}

	// Deployment exists: only the replica count is compared and corrected.
	want := expectedReplicas(instance)
	if deploy.Spec.Replicas != nil && *deploy.Spec.Replicas == want {
		logger.Info("not need to reconcile")
		return ctrl.Result{}, nil
	}

	deploy.Spec.Replicas = &want
	if err := r.Update(ctx, deploy); err != nil {
		logger.Error(err, "update deploy replicas error")
		return ctrl.Result{}, err
	}
	if err := updateStatus(ctx, r, instance); err != nil {
		logger.Error(err, "update status error")
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// SetupWithManager watches ElasticWeb and the Deployments it controls,
// with 5 concurrent workers as the article configures.
//
// The wrapper around Reconcile is a bench instrument (verified.go), not tutorial behaviour: it
// counts the distinct ElasticWebs reconciled without error.
func (r *ElasticWebReconciler) SetupWithManager(mgr ctrl.Manager) error {
	verified := newVerifiedSet()
	return ctrl.NewControllerManagedBy(mgr).
		WithOptions(controller.Options{MaxConcurrentReconciles: 5}).
		For(&elasticwebv1.ElasticWeb{}).
		Owns(&appsv1.Deployment{}).
		Complete(reconcile.Func(func(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
			res, err := r.Reconcile(ctx, req)
			if err == nil {
				verified.mark(req.String())
			}
			return res, err
		}))
}
