package controllers

import (
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"

	ewv1 "elasticweb.local/bench/peer-go-best/api/v1"
)

// recentTTL bounds how long a write is remembered: the informers show a write within
// milliseconds; a minute covers a slow API server and keeps the maps small.
const recentTTL = time.Minute

// recentWrites remembers what this process wrote until its caches show it (the "expectations"
// pattern of kube-controller-manager). A reconcile that runs again before the informer has
// delivered our own create or status write would otherwise create again (409, then a GET) or
// patch the same status again. Ours does the same (src/runtime/cache/recent-writes.ts).
type recentWrites struct {
	mu          sync.Mutex
	deployments map[string]createdAt[*appsv1.Deployment]
	services    map[string]createdAt[*corev1.Service]
	budgets     map[string]createdAt[*policyv1.PodDisruptionBudget]
	statuses    map[string]statusWrite
}

type createdAt[T any] struct {
	obj T
	at  time.Time
}

type statusWrite struct {
	// resourceVersion of the ElasticWeb our patch produced: once the cache holds it, the cache is
	// at least as new as our write.
	resourceVersion string
	status          ewv1.ElasticWebStatus
	at              time.Time
}

func newRecentWrites() *recentWrites {
	return &recentWrites{
		deployments: map[string]createdAt[*appsv1.Deployment]{},
		services:    map[string]createdAt[*corev1.Service]{},
		budgets:     map[string]createdAt[*policyv1.PodDisruptionBudget]{},
		statuses:    map[string]statusWrite{},
	}
}

// created returns an object this process created that the cache has not shown yet.
func created[T any](r *recentWrites, m map[string]createdAt[T], key string) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := m[key]
	if ok && time.Since(e.at) > recentTTL {
		delete(m, key)
		ok = false
	}
	return e.obj, ok
}

func remember[T any](r *recentWrites, m map[string]createdAt[T], key string, obj T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m[key] = createdAt[T]{obj: obj, at: time.Now()}
}

// seen forgets a created object once the cache has it.
func seen[T any](r *recentWrites, m map[string]createdAt[T], key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(m, key)
}

// shownStatus is the status to compare with: ours if the cached ElasticWeb predates our write.
func (r *recentWrites) shownStatus(key string, cached *ewv1.ElasticWeb) *ewv1.ElasticWebStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.statuses[key]
	if !ok {
		return &cached.Status
	}
	if w.resourceVersion == cached.ResourceVersion || time.Since(w.at) > recentTTL {
		delete(r.statuses, key)
		return &cached.Status
	}
	return &w.status
}

func (r *recentWrites) rememberStatus(key, resourceVersion string, status ewv1.ElasticWebStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses[key] = statusWrite{resourceVersion: resourceVersion, status: status, at: time.Now()}
}

// forget drops everything about a deleted ElasticWeb.
func (r *recentWrites) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.deployments, key)
	delete(r.services, key)
	delete(r.budgets, key)
	delete(r.statuses, key)
}
