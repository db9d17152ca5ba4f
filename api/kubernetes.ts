import { Type, type Static } from '@sinclair/typebox';

// `spec.targets.selector` in Kubernetes mode: Chaos Mesh's PodSelectorSpec field for field, so a
// Chaos Mesh selector can be pasted as it is. Everything that reaches the API server as a label or
// field selector string is constrained here, so no value can smuggle a "," or "=" into a query.

/** A label (or annotation) key: optional DNS-subdomain prefix + "/" + name of at most 63 characters. */
export const LabelKey = Type.String({
  pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$',
  maxLength: 317,
  description: 'label key, e.g. app or app.kubernetes.io/name',
});

/** A label value: empty, or at most 63 characters starting and ending with a letter or digit. */
export const LabelValue = Type.String({
  pattern: '^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$',
  description: 'label value: at most 63 letters, digits, "-", "_", "."',
});

/** Namespace and node names: DNS labels / subdomains. */
export const NamespaceName = Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'a namespace name' });
export const PodName = Type.String({
  pattern: '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$',
  description: 'a pod name',
});
export const NodeName = Type.String({ pattern: '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$', description: 'a node name' });
export const ContainerName = Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'a container name' });

export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;

/** Pod fields the API server accepts in a fieldSelector (and that Faultline also checks itself). */
export const POD_SELECTABLE_FIELDS = [
  'metadata.name',
  'metadata.namespace',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'spec.hostNetwork',
  'status.phase',
  'status.podIP',
  'status.nominatedNodeName',
] as const;

export const ExpressionSelector = Type.Object(
  {
    key: LabelKey,
    operator: Type.Union([Type.Literal('In'), Type.Literal('NotIn'), Type.Literal('Exists'), Type.Literal('DoesNotExist')]),
    values: Type.Optional(Type.Array(LabelValue, { maxItems: 64 })),
  },
  { additionalProperties: false },
);
export type ExpressionSelector = Static<typeof ExpressionSelector>;

const StringMap = (key: typeof LabelKey, value: ReturnType<typeof Type.String>, description: string) =>
  Type.Record(key, value, { maxProperties: 64, description, additionalProperties: false });

export const KubernetesSelector = Type.Object(
  {
    namespaces: Type.Optional(
      Type.Array(NamespaceName, { maxItems: 256, description: 'namespaces to pick pods from; default: the experiment\'s namespace' }),
    ),
    labelSelectors: Type.Optional(StringMap(LabelKey, LabelValue, 'pod labels that must all be equal')),
    expressionSelectors: Type.Optional(
      Type.Array(ExpressionSelector, { maxItems: 64, description: 'set-based label requirements (In, NotIn, Exists, DoesNotExist)' }),
    ),
    annotationSelectors: Type.Optional(
      StringMap(LabelKey, Type.String({ maxLength: 4096 }), 'pod annotations that must all be equal'),
    ),
    fieldSelectors: Type.Optional(
      Type.Record(
        Type.String({ pattern: `^(${POD_SELECTABLE_FIELDS.map((f) => f.replace('.', '\\.')).join('|')})$` }),
        Type.String({ pattern: '^[A-Za-z0-9._:-]{0,253}$' }),
        { maxProperties: 16, additionalProperties: false, description: 'pod fields that must be equal, e.g. spec.nodeName' },
      ),
    ),
    podPhaseSelectors: Type.Optional(
      Type.Array(Type.Union(POD_PHASES.map((p) => Type.Literal(p))), { maxItems: 5, description: 'pod phases; default any' }),
    ),
    nodes: Type.Optional(Type.Array(NodeName, { maxItems: 256, description: 'only pods on these nodes' })),
    nodeSelectors: Type.Optional(StringMap(LabelKey, LabelValue, 'only pods on nodes with these labels (cluster scope only)')),
    pods: Type.Optional(
      Type.Record(NamespaceName, Type.Array(PodName, { maxItems: 1024 }), {
        maxProperties: 64,
        additionalProperties: false,
        description: 'namespace → pod names; when given, exactly these pods (the other fields are ignored, as in Chaos Mesh)',
      }),
    ),
    containerNames: Type.Optional(
      Type.Array(ContainerName, { maxItems: 64, description: 'containers to act on inside each pod; default all' }),
    ),
  },
  { additionalProperties: false, $id: 'KubernetesSelector' },
);
export type KubernetesSelector = Static<typeof KubernetesSelector>;
