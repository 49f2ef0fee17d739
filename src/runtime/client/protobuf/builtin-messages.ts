/**
 * Schemas (see schema.ts) of the built-in kinds a controller commonly owns: Deployments, Services
 * and PodDisruptionBudgets, from k8s.io/api's generated.proto (field numbers) and types.go (JSON
 * names, pointers and omitempty), v0.37.
 *
 * Open messages name what controllers read and skip the rest: a cache filled from these holds only
 * those fields. Everything a controller would compare whole (a container's probes, resources,
 * security context; a Service's ports; a rollout strategy; owner references) is closed and complete.
 */

import type { Message } from './schema.ts';

const s = 'string' as const;
const i = 'int' as const;
const b = 'bool' as const;
const ios = 'intOrString' as const;

const ownerReference: Message = {
  fields: {
    1: { name: 'kind', type: s, keep: true },
    3: { name: 'name', type: s, keep: true },
    4: { name: 'uid', type: s, keep: true },
    5: { name: 'apiVersion', type: s, keep: true },
    6: { name: 'controller', type: b, keep: true },
    7: { name: 'blockOwnerDeletion', type: b, keep: true },
  },
};

const managedFieldsEntry: Message = {
  fields: {
    1: { name: 'manager', type: s },
    2: { name: 'operation', type: s },
    3: { name: 'apiVersion', type: s },
    4: { name: 'time', type: 'time', keep: true },
    6: { name: 'fieldsType', type: s },
    7: { name: 'fieldsV1', type: 'fieldsV1', keep: true },
    8: { name: 'subresource', type: s },
  },
};

/** metav1.ObjectMeta, open: no creationTimestamp, finalizers, generateName. */
export const objectMeta: Message = {
  open: true,
  fields: {
    1: { name: 'name', type: s },
    3: { name: 'namespace', type: s },
    5: { name: 'uid', type: s },
    6: { name: 'resourceVersion', type: s },
    7: { name: 'generation', type: i },
    9: { name: 'deletionTimestamp', type: 'time', keep: true },
    11: { name: 'labels', type: s, map: true },
    12: { name: 'annotations', type: s, map: true },
    13: { name: 'ownerReferences', type: ownerReference, list: true },
    17: { name: 'managedFields', type: managedFieldsEntry, list: true },
  },
};

const listMeta: Message = {
  open: true,
  fields: {
    2: { name: 'resourceVersion', type: s },
    3: { name: 'continue', type: s },
  },
};

const labelSelector: Message = {
  fields: {
    1: { name: 'matchLabels', type: s, map: true },
    2: {
      name: 'matchExpressions',
      list: true,
      type: {
        fields: {
          1: { name: 'key', type: s, keep: true },
          2: { name: 'operator', type: s, keep: true },
          3: { name: 'values', type: s, list: true },
        },
      },
    },
  },
};

const containerPort: Message = {
  fields: {
    1: { name: 'name', type: s },
    2: { name: 'hostPort', type: i },
    3: { name: 'containerPort', type: i, keep: true },
    4: { name: 'protocol', type: s },
    5: { name: 'hostIP', type: s },
  },
};

const resourceRequirements: Message = {
  fields: {
    1: { name: 'limits', type: 'quantity', map: true },
    2: { name: 'requests', type: 'quantity', map: true },
    3: {
      name: 'claims',
      list: true,
      type: { fields: { 1: { name: 'name', type: s, keep: true }, 2: { name: 'request', type: s } } },
    },
  },
};

const execAction: Message = { fields: { 1: { name: 'command', type: s, list: true } } };

const httpGetAction: Message = {
  fields: {
    1: { name: 'path', type: s },
    2: { name: 'port', type: ios, keep: true },
    3: { name: 'host', type: s },
    4: { name: 'scheme', type: s },
    5: {
      name: 'httpHeaders',
      list: true,
      type: {
        fields: { 1: { name: 'name', type: s, keep: true }, 2: { name: 'value', type: s, keep: true } },
      },
    },
    6: { name: 'protocol', type: s, keep: true },
  },
};

const tcpSocketAction: Message = {
  fields: { 1: { name: 'port', type: ios, keep: true }, 2: { name: 'host', type: s } },
};

const probe: Message = {
  fields: {
    1: {
      name: '(handler)',
      inline: true,
      type: {
        fields: {
          1: { name: 'exec', type: execAction },
          2: { name: 'httpGet', type: httpGetAction },
          3: { name: 'tcpSocket', type: tcpSocketAction },
          4: {
            name: 'grpc',
            type: {
              fields: {
                1: { name: 'port', type: i, keep: true },
                2: { name: 'service', type: s, keep: true },
                3: { name: 'mode', type: s, keep: true },
              },
            },
          },
        },
      },
    },
    2: { name: 'initialDelaySeconds', type: i },
    3: { name: 'timeoutSeconds', type: i },
    4: { name: 'periodSeconds', type: i },
    5: { name: 'successThreshold', type: i },
    6: { name: 'failureThreshold', type: i },
    7: { name: 'terminationGracePeriodSeconds', type: i, keep: true },
  },
};

const lifecycleHandler: Message = {
  fields: {
    1: { name: 'exec', type: execAction },
    2: { name: 'httpGet', type: httpGetAction },
    3: { name: 'tcpSocket', type: tcpSocketAction },
    4: { name: 'sleep', type: { fields: { 1: { name: 'seconds', type: i, keep: true } } } },
  },
};

const lifecycle: Message = {
  fields: {
    1: { name: 'postStart', type: lifecycleHandler },
    2: { name: 'preStop', type: lifecycleHandler },
    3: { name: 'stopSignal', type: s, keep: true },
  },
};

const profile: Message = {
  fields: { 1: { name: 'type', type: s, keep: true }, 2: { name: 'localhostProfile', type: s, keep: true } },
};

const securityContext: Message = {
  fields: {
    1: {
      name: 'capabilities',
      type: { fields: { 1: { name: 'add', type: s, list: true }, 2: { name: 'drop', type: s, list: true } } },
    },
    2: { name: 'privileged', type: b, keep: true },
    3: {
      name: 'seLinuxOptions',
      type: {
        fields: {
          1: { name: 'user', type: s },
          2: { name: 'role', type: s },
          3: { name: 'type', type: s },
          4: { name: 'level', type: s },
        },
      },
    },
    4: { name: 'runAsUser', type: i, keep: true },
    5: { name: 'runAsNonRoot', type: b, keep: true },
    6: { name: 'readOnlyRootFilesystem', type: b, keep: true },
    7: { name: 'allowPrivilegeEscalation', type: b, keep: true },
    8: { name: 'runAsGroup', type: i, keep: true },
    9: { name: 'procMount', type: s, keep: true },
    10: {
      name: 'windowsOptions',
      type: {
        fields: {
          1: { name: 'gmsaCredentialSpecName', type: s, keep: true },
          2: { name: 'gmsaCredentialSpec', type: s, keep: true },
          3: { name: 'runAsUserName', type: s, keep: true },
          4: { name: 'hostProcess', type: b, keep: true },
        },
      },
    },
    11: { name: 'seccompProfile', type: profile },
    12: { name: 'appArmorProfile', type: profile },
  },
};

/** core/v1 Container, open: what a controller that sets these compares. */
const container: Message = {
  open: true,
  fields: {
    1: { name: 'name', type: s, keep: true },
    2: { name: 'image', type: s },
    3: { name: 'command', type: s, list: true },
    4: { name: 'args', type: s, list: true },
    6: { name: 'ports', type: containerPort, list: true },
    8: { name: 'resources', type: resourceRequirements },
    11: { name: 'readinessProbe', type: probe },
    12: { name: 'lifecycle', type: lifecycle },
    15: { name: 'securityContext', type: securityContext },
  },
};

const podTemplateSpec: Message = {
  open: true,
  fields: {
    1: { name: 'metadata', type: objectMeta },
    2: {
      name: 'spec',
      type: {
        open: true,
        fields: {
          2: { name: 'containers', type: container, list: true },
          4: { name: 'terminationGracePeriodSeconds', type: i, keep: true },
        },
      },
    },
  },
};

const deployment: Message = {
  open: true,
  fields: {
    1: { name: 'metadata', type: objectMeta },
    2: {
      name: 'spec',
      type: {
        open: true,
        fields: {
          1: { name: 'replicas', type: i, keep: true },
          2: { name: 'selector', type: labelSelector },
          3: { name: 'template', type: podTemplateSpec },
          4: {
            name: 'strategy',
            type: {
              fields: {
                1: { name: 'type', type: s },
                2: {
                  name: 'rollingUpdate',
                  type: {
                    fields: {
                      1: { name: 'maxUnavailable', type: ios, keep: true },
                      2: { name: 'maxSurge', type: ios, keep: true },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    3: {
      name: 'status',
      type: {
        open: true,
        fields: {
          1: { name: 'observedGeneration', type: i },
          2: { name: 'replicas', type: i },
          3: { name: 'updatedReplicas', type: i },
          4: { name: 'availableReplicas', type: i },
          7: { name: 'readyReplicas', type: i },
        },
      },
    },
  },
};

const servicePort: Message = {
  fields: {
    1: { name: 'name', type: s },
    2: { name: 'protocol', type: s },
    3: { name: 'port', type: i, keep: true },
    4: { name: 'targetPort', type: ios, keep: true },
    5: { name: 'nodePort', type: i },
    6: { name: 'appProtocol', type: s, keep: true },
  },
};

const service: Message = {
  open: true,
  fields: {
    1: { name: 'metadata', type: objectMeta },
    2: {
      name: 'spec',
      type: {
        open: true,
        fields: {
          1: { name: 'ports', type: servicePort, list: true },
          2: { name: 'selector', type: s, map: true },
          4: { name: 'type', type: s },
        },
      },
    },
  },
};

const podDisruptionBudget: Message = {
  open: true,
  fields: {
    1: { name: 'metadata', type: objectMeta },
    2: {
      name: 'spec',
      type: {
        fields: {
          1: { name: 'minAvailable', type: ios, keep: true },
          2: { name: 'selector', type: labelSelector },
          3: { name: 'maxUnavailable', type: ios, keep: true },
          4: { name: 'unhealthyPodEvictionPolicy', type: s, keep: true },
        },
      },
    },
  },
};

/** A list of `item`: {metadata: ListMeta = 1, items = 2}. */
export interface ListSchema {
  metadata: Message;
  item: Message;
}

/** Protobuf list schemas, for an informer that asks for them (see InformerOptions.protobuf). */
export const protobufLists = {
  deployments: { metadata: listMeta, item: deployment },
  services: { metadata: listMeta, item: service },
  podDisruptionBudgets: { metadata: listMeta, item: podDisruptionBudget },
} satisfies Record<string, ListSchema>;

/**
 * `list` with its items' managedFields skipped (ObjectMeta is open: an unnamed field is skipped, never
 * built). For a cache that keeps none of them (an owned kind without prune paths): each entry's
 * fieldsV1 is a JSON document of its own, and parsing 10,000 of them only to drop them was a visible
 * part of a restart's CPU profile.
 */
export function withoutManagedFields(list: ListSchema): ListSchema {
  const { 17: _managedFields, ...metaFields } = objectMeta.fields;
  const meta: Message = { ...objectMeta, fields: metaFields };
  const fields: Message['fields'] = {};
  for (const [number, field] of Object.entries(list.item.fields))
    fields[Number(number)] = field.type === objectMeta ? { ...field, type: meta } : field;
  return { ...list, item: { ...list.item, fields } };
}
