package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	ewv1 "elasticweb.local/bench/peer-go-best/api/v1"
)

// notOwnedRecheck is how often a name taken by someone else's object is looked at again (ours: 60 s).
const notOwnedRecheck = time.Minute

// Reconciler makes an ElasticWeb's Deployment and Service match its spec and writes the status
// the cluster shows. Level-based: everything is read from the caches, so the same code handles
// create, update, drift, a deleted child and restart; a pass that finds nothing to change
// writes nothing.
type Reconciler struct {
	client.Client
	// APIReader reads past the cache, only when a create finds the name taken.
	APIReader client.Reader
	Recorder  events.EventRecorder
	recent    *recentWrites
	verified  *verifiedSet
}

// childResult is what happened to one child in one pass.
type childResult[T client.Object] struct {
	obj     T // the object as it now is; nil when unknown
	created bool
	updated bool
	drift   string
	problem *problem
	err     error
	requeue time.Duration
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	key := req.String()
	ew := &ewv1.ElasticWeb{}
	if err := r.Get(ctx, req.NamespacedName, ew); err != nil {
		if apierrors.IsNotFound(err) {
			// Its children carry owner references: the garbage collector deletes them.
			r.recent.forget(key)
			r.verified.forget(key)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ew.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	plan := planFor(&ew.Spec)

	// Both children at once, as ours does: a new ElasticWeb costs one round trip, not two.
	var dep childResult[*appsv1.Deployment]
	var svc childResult[*corev1.Service]
	var pdb childResult[*policyv1.PodDisruptionBudget]
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); dep = r.ensureDeployment(ctx, ew, plan) }()
	go func() { defer wg.Done(); svc = r.ensureService(ctx, ew) }()
	// A PodDisruptionBudget while there are pods, none at zero, as ours.
	go func() { defer wg.Done(); pdb = r.ensureDisruptionBudget(ctx, ew, plan) }()
	wg.Wait()
	r.announce(ew, dep, svc)

	p := dep.problem
	if p == nil {
		p = svc.problem
	}
	if p == nil {
		p = pdb.problem
	}
	shown := r.recent.shownStatus(key, ew)
	status := computeStatus(ew, shown, plan, dep.obj, svc.obj, p, metav1.Now())
	r.announceTransition(ew, shown, &status)
	if !equality.Semantic.DeepEqual(&status, shown) {
		if err := r.patchStatus(ctx, ew, status); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := firstErr(firstErr(dep.err, svc.err), pdb.err); err != nil {
		return ctrl.Result{}, err
	}
	r.verified.mark(key)
	return ctrl.Result{RequeueAfter: max(dep.requeue, svc.requeue)}, nil
}

// patchStatus writes the status subresource with a JSON merge patch computed against the cached
// object: only the fields that changed travel, and no resourceVersion lock is needed because the
// operator is the status's only writer.
func (r *Reconciler) patchStatus(ctx context.Context, ew *ewv1.ElasticWeb, status ewv1.ElasticWebStatus) error {
	next := ew.DeepCopy()
	next.Status = status
	if err := r.Status().Patch(ctx, next, client.MergeFrom(ew), client.FieldOwner(fieldManager)); err != nil {
		return client.IgnoreNotFound(err)
	}
	r.recent.rememberStatus(client.ObjectKeyFromObject(ew).String(), next.ResourceVersion, status)
	return nil
}

func (r *Reconciler) ensureDeployment(ctx context.Context, ew *ewv1.ElasticWeb, plan replicaPlan) childResult[*appsv1.Deployment] {
	key := client.ObjectKeyFromObject(ew)
	return ensure(ctx, r, ew, r.recent.deployments, "Deployment", &appsv1.Deployment{},
		func() *appsv1.Deployment {
			return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}
		},
		func(d *appsv1.Deployment) string { return deploymentDrift(d, ew, plan) },
		func(d *appsv1.Deployment) { mutateDeployment(d, ew, plan) })
}

func (r *Reconciler) ensureDisruptionBudget(ctx context.Context, ew *ewv1.ElasticWeb, plan replicaPlan) childResult[*policyv1.PodDisruptionBudget] {
	key := client.ObjectKeyFromObject(ew)
	if plan.replicas == 0 {
		live := &policyv1.PodDisruptionBudget{}
		if err := r.Get(ctx, key, live); err == nil && metav1.GetControllerOf(live) != nil && mayManage(live, ew) {
			uid := live.UID
			if err := r.Delete(ctx, live, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
				return childResult[*policyv1.PodDisruptionBudget]{err: err}
			}
		}
		return childResult[*policyv1.PodDisruptionBudget]{}
	}
	return ensure(ctx, r, ew, r.recent.budgets, "PodDisruptionBudget", &policyv1.PodDisruptionBudget{},
		func() *policyv1.PodDisruptionBudget {
			return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}
		},
		func(p *policyv1.PodDisruptionBudget) string { return disruptionBudgetDrift(p, ew) },
		func(p *policyv1.PodDisruptionBudget) { mutateDisruptionBudget(p, ew) })
}

func (r *Reconciler) ensureService(ctx context.Context, ew *ewv1.ElasticWeb) childResult[*corev1.Service] {
	key := client.ObjectKeyFromObject(ew)
	return ensure(ctx, r, ew, r.recent.services, "Service", &corev1.Service{},
		func() *corev1.Service {
			return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}
		},
		func(s *corev1.Service) string { return serviceDrift(s, ew) },
		func(s *corev1.Service) { mutateService(s, ew) })
}

// ensure makes one child match: create on a cache miss (a plain POST, which the API server
// refuses if the name is taken, so nobody else's object is merged into), a strategic merge patch
// of the difference on drift, nothing otherwise. It never returns a Go error; failures are in
// the result, so the status still reports them.
func ensure[T client.Object](ctx context.Context, r *Reconciler, ew *ewv1.ElasticWeb, mine map[string]createdAt[T],
	kind string, into T, empty func() T, driftOf func(T) string, mutate func(T)) childResult[T] {
	logger := log.FromContext(ctx)
	key := client.ObjectKeyFromObject(ew)
	what := fmt.Sprintf("%s %s", kind, key)
	var live T
	err := r.Get(ctx, key, into)
	switch {
	case err == nil:
		live = into
		seen(r.recent, mine, key.String())
	case apierrors.IsNotFound(err):
		if obj, ok := createdByUs(r.recent, mine, key.String()); ok {
			live = obj
			break
		}
		obj := empty()
		mutate(obj)
		if err := r.Create(ctx, obj, client.FieldOwner(fieldManager)); err == nil {
			remember(r.recent, mine, key.String(), obj)
			logger.Info("created", "kind", kind)
			return childResult[T]{obj: obj, created: true}
		} else if !apierrors.IsAlreadyExists(err) {
			return failed[T](r, ew, what, err)
		}
		// Taken: by ours not yet in the cache, or by someone else's.
		if err := r.APIReader.Get(ctx, key, into); err != nil {
			return failed[T](r, ew, what, err)
		}
		live = into
	default:
		return failed[T](r, ew, what, err)
	}
	if !mayManage(live, ew) {
		return childResult[T]{problem: &problem{"ResourceNotOwned", what +
			" already exists and is not controlled by this ElasticWeb; the operator leaves it alone. Delete it or rename the ElasticWeb."},
			requeue: notOwnedRecheck}
	}
	drift := driftOf(live)
	if drift == "" {
		return childResult[T]{obj: live}
	}
	// The cache shares its objects (UnsafeDisableDeepCopy): mutate a copy.
	want := live.DeepCopyObject().(T)
	mutate(want)
	if err := r.Patch(ctx, want, client.StrategicMergeFrom(live), client.FieldOwner(fieldManager)); err != nil {
		return failed[T](r, ew, what, err)
	}
	logger.Info("updated", "kind", kind, "drift", drift)
	return childResult[T]{obj: want, updated: true, drift: drift}
}

func createdByUs[T any](r *recentWrites, m map[string]createdAt[T], key string) (T, bool) {
	return created(r, m, key)
}

// mayManage: controlled by this ElasticWeb, or ours with its owner reference removed (our
// instance label and no controller at all). Anything else belongs to someone else.
func mayManage(live client.Object, ew *ewv1.ElasticWeb) bool {
	if ref := metav1.GetControllerOf(live); ref != nil {
		return ref.UID == ew.UID
	}
	return live.GetLabels()[instanceLabel] == ew.Name
}

// failed turns a write error into a Degraded reason, with a Warning event, as ours does.
func failed[T client.Object](r *Reconciler, ew *ewv1.ElasticWeb, what string, err error) childResult[T] {
	msg := fmt.Sprintf("%s: %v", what, err)
	reason := "ApplyFailed"
	switch {
	case apierrors.IsInvalid(err) && strings.Contains(err.Error(), "port is already allocated"):
		reason = "NodePortConflict"
	case apierrors.IsForbidden(err):
		reason = "Forbidden"
	case apierrors.ReasonForError(err) == metav1.StatusReasonUnknown && !apierrors.IsInternalError(err):
		reason = "APIServerUnreachable"
	}
	r.Recorder.Eventf(ew, nil, corev1.EventTypeWarning, reason, "Reconcile", msg)
	return childResult[T]{problem: &problem{reason, msg}, err: err}
}

// announce sends the Normal events ours sends: one for what a pass created, and Scaled or
// Updated for a change. The recorder queues them and writes in the background, so a reconcile
// never waits for an event.
func (r *Reconciler) announce(ew *ewv1.ElasticWeb, dep childResult[*appsv1.Deployment], svc childResult[*corev1.Service]) {
	var parts []string
	if dep.created {
		parts = append(parts, fmt.Sprintf("Deployment %s with %d replicas", dep.obj.Name, *dep.obj.Spec.Replicas))
	}
	if svc.created {
		nodePort := "?"
		if len(svc.obj.Spec.Ports) > 0 {
			nodePort = fmt.Sprint(svc.obj.Spec.Ports[0].NodePort)
		}
		parts = append(parts, fmt.Sprintf("Service %s on NodePort %s", svc.obj.Name, nodePort))
	}
	if len(parts) > 0 {
		r.Recorder.Eventf(ew, nil, corev1.EventTypeNormal, "Created", "Create", "Created %s", strings.Join(parts, " and "))
	}
	if dep.updated {
		if dep.drift == "spec.replicas" {
			r.Recorder.Eventf(ew, nil, corev1.EventTypeNormal, "Scaled", "Scale",
				"Scaled Deployment %s to %d replicas (totalQPS %d, %d QPS per pod)", dep.obj.Name, *dep.obj.Spec.Replicas,
				deref(ew.Spec.TotalQPS), ew.Spec.SinglePodsQPS)
		} else {
			r.Recorder.Eventf(ew, nil, corev1.EventTypeNormal, "Updated", "Update", "Updated Deployment %s: %s differed from the spec", dep.obj.Name, dep.drift)
		}
	}
	if svc.updated {
		r.Recorder.Eventf(ew, nil, corev1.EventTypeNormal, "Updated", "Update", "Updated Service %s: %s differed from the spec", svc.obj.Name, svc.drift)
	}
}

// announceTransition warns once when Degraded turns to a state no failing write reports.
func (r *Reconciler) announceTransition(ew *ewv1.ElasticWeb, shown, next *ewv1.ElasticWebStatus) {
	before, after := degraded(shown), degraded(next)
	if after != nil && after.Status == metav1.ConditionTrue &&
		(after.Reason == "MaxReplicasReached" || after.Reason == "ResourceNotOwned") &&
		(before == nil || before.Reason != after.Reason) {
		r.Recorder.Eventf(ew, nil, corev1.EventTypeWarning, after.Reason, "Reconcile", after.Message)
	}
}

func degraded(s *ewv1.ElasticWebStatus) *metav1.Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == "Degraded" {
			return &s.Conditions[i]
		}
	}
	return nil
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
