package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	elasticwebv1 "elasticweb.local/bench/baseline-go/api/v1"
)

// Fixed values the article hard-codes for every ElasticWeb.
const (
	appLabelKey   = "app"
	appName       = "elastic-app" // same label for every instance (article behaviour)
	containerPort = 8080
	cpuRequest    = "100m"
	cpuLimit      = "100m"
	memRequest    = "512Mi"
	memLimit      = "512Mi"
)

// int32Value reads an optional int32 field; absent means 0.
// (Deviation: the article dereferences these pointers directly and panics
// when the optional field is missing.)
func int32Value(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// expectedReplicas is ceil(totalQPS / singlePodsQPS).
// singlePodsQPS >= 1 is enforced by the CRD schema.
func expectedReplicas(ew *elasticwebv1.ElasticWeb) int32 {
	single := int32Value(ew.Spec.SinglePodsQPS)
	total := int32Value(ew.Spec.TotalQPS)
	n := total / single
	if total%single != 0 {
		n++
	}
	return n
}

func appLabels() map[string]string {
	return map[string]string{appLabelKey: appName}
}

// createService creates the NodePort Service for the instance. Like the
// article's, it does not check for an existing Service first: a second
// attempt fails with AlreadyExists and the reconcile is retried.
func createService(ctx context.Context, r *ElasticWebReconciler, ew *elasticwebv1.ElasticWeb) error {
	logger := log.FromContext(ctx)

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: ew.Name, Namespace: ew.Namespace},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: appLabels(),
			Ports: []corev1.ServicePort{{
				Name:     "http",
				Port:     containerPort,
				NodePort: int32Value(ew.Spec.Port), // 0 (absent) lets the API server pick one
			}},
		},
	}

	logger.Info("set reference")
	if err := controllerutil.SetControllerReference(ew, svc, r.Scheme); err != nil {
		logger.Error(err, "SetControllerReference error")
		return err
	}
	logger.Info("start create service")
	if err := r.Create(ctx, svc); err != nil {
		logger.Error(err, "create service error")
		return err
	}
	return nil
}

// createDeployment creates the Deployment sized for totalQPS.
func createDeployment(ctx context.Context, r *ElasticWebReconciler, ew *elasticwebv1.ElasticWeb) error {
	logger := log.FromContext(ctx)

	replicas := expectedReplicas(ew)
	logger.Info(fmt.Sprintf("expectReplicas [%d]", replicas))

	limits := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpuLimit),
		corev1.ResourceMemory: resource.MustParse(memLimit),
	}
	requests := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(cpuRequest),
		corev1.ResourceMemory: resource.MustParse(memRequest),
	}

	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: ew.Name, Namespace: ew.Namespace, Labels: appLabels()},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: appLabels()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: appLabels()},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name:  appName,
						Image: ew.Spec.Image,
						Ports: []corev1.ContainerPort{{
							Name:          "http",
							ContainerPort: containerPort,
							Protocol:      corev1.ProtocolSCTP, // as in the article (the Service port is TCP)
						}},
						Resources: corev1.ResourceRequirements{Limits: limits, Requests: requests},
					}},
				},
			},
		},
	}

	logger.Info("set reference")
	if err := controllerutil.SetControllerReference(ew, deploy, r.Scheme); err != nil {
		logger.Error(err, "SetControllerReference error")
		return err
	}
	logger.Info("start create deploy")
	if err := r.Create(ctx, deploy); err != nil {
		logger.Error(err, "create deploy error")
		return err
	}
	logger.Info("create deploy success")
	return nil
}

// updateStatus sets status.realQPS = singlePodsQPS * expectedReplicas.
//
// Deviation: the article writes it with r.Update on the whole object. The
// project's CRD (like the article's own kubebuilder type, which carries
// +kubebuilder:subresource:status) has the status subresource enabled, so a
// main-resource update silently drops status changes. The status subresource
// is written instead, with the same single request.
func updateStatus(ctx context.Context, r *ElasticWebReconciler, ew *elasticwebv1.ElasticWeb) error {
	logger := log.FromContext(ctx)

	single := int32Value(ew.Spec.SinglePodsQPS)
	replicas := expectedReplicas(ew)
	ew.Status.RealQPS = ptr.To(single * replicas)
	logger.Info(fmt.Sprintf("singlePodQPS [%d],replicas [%d],realQPS[%d]", single, replicas, *ew.Status.RealQPS))

	if err := r.Status().Update(ctx, ew); err != nil {
		logger.Error(err, "update instance error")
		return err
	}
	return nil
}
