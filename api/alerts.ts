import { Type, type Static } from '@sinclair/typebox';

// Alert notifications that stop chaos: Alertmanager's webhook (version 4) and Grafana alerting's
// webhook contact point. Both are read with unknown fields allowed: a safety stop must never be
// refused because a newer Alertmanager or Grafana added a field. What Faultline reads (status,
// labels, fingerprint, generatorURL) is required and typed, so a malformed payload is still a 400.

const LabelSet = Type.Record(Type.String({ minLength: 1, maxLength: 1024 }), Type.String({ maxLength: 16384 }), {
  description: 'label name → value',
});
const Timestamp = Type.String({ maxLength: 64, description: 'RFC 3339 time; 0001-01-01T00:00:00Z means unset' });
const AlertStatus = Type.Union([Type.Literal('firing'), Type.Literal('resolved')]);

export const MAX_ALERTS_PER_NOTIFICATION = 10_000;

/** One alert in an Alertmanager webhook notification. */
export const AlertmanagerAlert = Type.Object(
  {
    status: AlertStatus,
    labels: LabelSet,
    annotations: LabelSet,
    startsAt: Timestamp,
    endsAt: Timestamp,
    generatorURL: Type.String({ maxLength: 8192 }),
    fingerprint: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: true },
);
export type AlertmanagerAlert = Static<typeof AlertmanagerAlert>;

/** Alertmanager's webhook_config payload, version "4". */
export const AlertmanagerWebhook = Type.Object(
  {
    version: Type.Literal('4', { description: 'webhook payload version; Faultline reads version 4' }),
    groupKey: Type.String({ maxLength: 16384 }),
    truncatedAlerts: Type.Optional(Type.Integer({ minimum: 0 })),
    status: AlertStatus,
    receiver: Type.String({ maxLength: 1024 }),
    groupLabels: LabelSet,
    commonLabels: LabelSet,
    commonAnnotations: LabelSet,
    externalURL: Type.String({ maxLength: 8192 }),
    alerts: Type.Array(AlertmanagerAlert, { maxItems: MAX_ALERTS_PER_NOTIFICATION }),
  },
  { additionalProperties: true, $id: 'AlertmanagerWebhook' },
);
export type AlertmanagerWebhook = Static<typeof AlertmanagerWebhook>;

/** One alert in Grafana's webhook contact point payload (values, dashboardURL, ... are optional extras). */
export const GrafanaAlert = Type.Object(
  {
    status: AlertStatus,
    labels: LabelSet,
    annotations: Type.Optional(LabelSet),
    startsAt: Type.Optional(Timestamp),
    endsAt: Type.Optional(Timestamp),
    generatorURL: Type.Optional(Type.String({ maxLength: 8192 })),
    fingerprint: Type.Optional(Type.String({ maxLength: 128 })),
    silenceURL: Type.Optional(Type.String({ maxLength: 8192 })),
    dashboardURL: Type.Optional(Type.String({ maxLength: 8192 })),
    panelURL: Type.Optional(Type.String({ maxLength: 8192 })),
    values: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()])), Type.Null()])),
    valueString: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type GrafanaAlert = Static<typeof GrafanaAlert>;

/** Grafana alerting's webhook contact point payload (Alertmanager-like, plus title/state/message/orgId). */
export const GrafanaWebhook = Type.Object(
  {
    receiver: Type.Optional(Type.String({ maxLength: 1024 })),
    status: AlertStatus,
    orgId: Type.Optional(Type.Integer()),
    alerts: Type.Array(GrafanaAlert, { maxItems: MAX_ALERTS_PER_NOTIFICATION }),
    groupLabels: Type.Optional(LabelSet),
    commonLabels: Type.Optional(LabelSet),
    commonAnnotations: Type.Optional(LabelSet),
    externalURL: Type.Optional(Type.String({ maxLength: 8192 })),
    version: Type.Optional(Type.String({ maxLength: 16 })),
    groupKey: Type.Optional(Type.String({ maxLength: 16384 })),
    truncatedAlerts: Type.Optional(Type.Integer({ minimum: 0 })),
    title: Type.Optional(Type.String()),
    state: Type.Optional(Type.String({ maxLength: 64 })),
    message: Type.Optional(Type.String()),
  },
  { additionalProperties: true, $id: 'GrafanaWebhook' },
);
export type GrafanaWebhook = Static<typeof GrafanaWebhook>;

/** The webhook routes' answer: what the notification did. */
export const AlertWebhookResult = Type.Object(
  {
    received: Type.Integer({ description: 'alerts in the notification' }),
    firing: Type.Integer({ description: 'alerts firing now, across all notifications' }),
    aborted: Type.Array(
      Type.Object({ namespace: Type.String(), name: Type.String(), alert: Type.String(), rule: Type.String() }),
    ),
    frozen: Type.Boolean({ description: 'true when an alert with faultline_freeze="true" froze chaos' }),
    errors: Type.Optional(
      Type.Array(Type.Object({ namespace: Type.String(), name: Type.String(), error: Type.String() }), {
        description: 'aborts that could not be done (e.g. the experiment was deleted meanwhile); the others still happened',
      }),
    ),
  },
  { $id: 'AlertWebhookResult' },
);
export type AlertWebhookResult = Static<typeof AlertWebhookResult>;

/** Freeze request body and state. */
export const FreezeRequest = Type.Object(
  {
    reason: Type.String({ minLength: 1, maxLength: 1024, description: 'why chaos is frozen (shown in every 409)' }),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339 time when the freeze lifts by itself' })),
  },
  { additionalProperties: false, $id: 'FreezeRequest' },
);
export type FreezeRequest = Static<typeof FreezeRequest>;

export const FreezeState = Type.Object(
  {
    frozen: Type.Boolean(),
    reason: Type.Optional(Type.String()),
    actor: Type.Optional(Type.String()),
    since: Type.Optional(Type.String()),
    until: Type.Optional(Type.String()),
  },
  { $id: 'FreezeState' },
);
export type FreezeState = Static<typeof FreezeState>;

/**
 * The alert that aborted a run, as fields: `status.message` names the alert and its labels in one
 * readable line; where it comes from (generatorURL) is kept here, not pasted into every message.
 */
export const AbortedBy = Type.Object({
  alert: Type.String({ description: 'the alert\'s name (alertname, or its fingerprint)' }),
  labels: Type.Record(Type.String(), Type.String()),
  fingerprint: Type.String(),
  source: Type.String({ description: 'alertmanager or grafana' }),
  rule: Type.String({ description: 'what matched: the guard selector, or the faultline_* label' }),
  generatorURL: Type.Optional(Type.String({ description: 'where the alert comes from (Prometheus graph, Grafana rule)' })),
  startsAt: Type.Optional(Type.String()),
});
export type AbortedBy = Static<typeof AbortedBy>;
