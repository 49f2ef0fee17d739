/**
 * Every permission the operator's code needs, in one place, as kubebuilder's rbac markers declare
 * them. `npm run manifests` writes config/rbac/role.yaml and leader_election_role.yaml from this list,
 * and the end-to-end test of the deployed operator proves it is enough (the API server answers it no
 * 403) and not more (each rule is one the code exercises). No wildcards, no secrets, no pod writes.
 */

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Cluster-wide: ElasticWebs and what they own live in any namespace. */
export const clusterRules: PolicyRule[] = [
  // Informer (list, watch) of ElasticWebs. No get/create/update/delete: the operator never does those.
  { apiGroups: ['elasticweb.example.com'], resources: ['elasticwebs'], verbs: ['list', 'watch'] },
  // Status written by a JSON patch of the status subresource (its first operation tests the uid).
  { apiGroups: ['elasticweb.example.com'], resources: ['elasticwebs/status'], verbs: ['patch'] },
  // Owner references with blockOwnerDeletion: true need this where the API server enforces it
  // (the OwnerReferencesPermissionEnforcement admission plugin), as controller-runtime's do.
  { apiGroups: ['elasticweb.example.com'], resources: ['elasticwebs/finalizers'], verbs: ['update'] },
  // Informer (list, watch); create (POST) when the cache has no object of ours; get when that create
  // answers 409 (someone else's, or ours not seen yet); patch: server-side apply to put drift right and
  // a strategic merge patch to delete stray entries.
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
  // One PodDisruptionBudget per ElasticWeb with pods: the same verbs, plus delete when it scales to zero.
  {
    apiGroups: ['policy'],
    resources: ['poddisruptionbudgets'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  },
  // Events on ElasticWebs: created, then patched to count repeats.
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];

/** In the operator's own namespace: the leader election Lease (read, first create, renew and release). */
export const leaderElectionRules: PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];

/**
 * Cluster-wide, for the secure metrics endpoint (--metrics-secure): ask the API server who a scraper
 * is (TokenReview) and whether it may read /metrics (SubjectAccessReview). Create only: reviews are
 * answered, never stored. kubebuilder keeps them in their own role, metrics-auth-role.
 */
export const metricsAuthRules: PolicyRule[] = [
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
];

export interface NonResourceRule {
  nonResourceURLs: string[];
  verbs: string[];
}

/**
 * Not the operator's own: what a scraper needs to read the secure endpoint (kubebuilder's
 * metrics-reader). Bind it to Prometheus's ServiceAccount; the operator asks exactly this question.
 */
export const metricsReaderRules: NonResourceRule[] = [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }];

/** The names kubebuilder gives these roles (before the kustomize name prefix). */
export const roleNames = {
  cluster: 'manager-role',
  leaderElection: 'leader-election-role',
  metricsAuth: 'metrics-auth-role',
  metricsReader: 'metrics-reader',
} as const;
