export type { Experiment, ExperimentInput, Phase, TargetStatus } from '../../api/experiment';
export type { FaultlineEvent } from '../../api/events';
export type { ErrorDetail } from '../../api/errors';
import type { TargetMode } from '../../api/experiment';
import type { KindInfo as WireKindInfo, TargetCandidate } from '../../api/targets';

export type { TargetMode };

/** Columns of the experiment list that the panel options can switch off (name is always shown). */
export const COLUMNS = [
  { value: 'namespace', label: 'Namespace' },
  { value: 'kind', label: 'Kind' },
  { value: 'phase', label: 'Phase' },
  { value: 'targets', label: 'Targets' },
  { value: 'timeLeft', label: 'Time left' },
  { value: 'started', label: 'Started' },
] as const;
export type Column = (typeof COLUMNS)[number]['value'];
export const DEFAULT_COLUMNS: Column[] = COLUMNS.map((c) => c.value);

/** Options saved with the panel (dashboard JSON). */
export interface PanelOptions {
  /** uid (or name) of the Faultline data source; template variables work. Empty = the first Faultline data source. */
  datasource: string;
  /** Show only these namespaces (comma-separated, template variables work, multi-value too). Empty = all. */
  namespace: string;
  columns: Column[];
  /** Show the "Launch experiment" button (Editors and Admins only in any case). */
  showLaunch: boolean;
  /** Hide experiments that ended (Finished, Aborted, Failed). */
  activeOnly: boolean;
  /** How many of the latest events to show under the list; 0 hides them. */
  eventCount: number;
  /** Saved launch forms, shared by everyone who opens the dashboard (see Templates.tsx). */
  templates: LaunchTemplate[];
}

export const DEFAULT_OPTIONS: PanelOptions = {
  datasource: '',
  namespace: '',
  columns: DEFAULT_COLUMNS,
  showLaunch: true,
  activeOnly: false,
  eventCount: 5,
  templates: [],
};

/** JSON schema, as much of it as the form reads. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  [key: string]: unknown;
}

/** One entry of GET /api/v1/kinds (api/targets.ts), its `schema` read as the JSON schema it is. */
export type KindInfo = Omit<WireKindInfo, 'schema' | 'support'> & { schema: JsonSchema; support?: KindSupport[] };
export type KindSupport = WireKindInfo['support'][number];

/** One entry of GET /api/v1/targets. */
export type TargetInfo = TargetCandidate;
/**
 * The launch form as the user typed it: text per field (lists comma-separated), turned into an
 * ExperimentInput by form.ts. Templates save exactly this.
 */
export interface LaunchFormState {
  name: string;
  namespace: string;
  kind: string;
  params: Record<string, string>;
  selector: { pids: string; processName: string; cgroups: string; netns: string; daemons: string };
  mode: TargetMode;
  value: string;
  duration: string;
  alerts: string[];
  promql: Array<{ expr: string; for: string }>;
}

export interface LaunchTemplate {
  name: string;
  form: Omit<LaunchFormState, 'name'>;
}
