import React, { useEffect, useMemo, useState } from 'react';
import { css } from '@emotion/css';
import type { GrafanaTheme2 } from '@grafana/data';
import { Alert, Button, Combobox, Field, FieldSet, Input, LoadingPlaceholder, Stack, Text, useStyles2 } from '@grafana/ui';
import type { FaultlineApi } from '../../client/client';
import { toPanelError, type PanelError } from '../errors';
import { defaultName, defaultParams, emptyForm, hasErrors, paramsSchema, sortErrors, validateForm, type FormErrors } from '../form';
import type { Experiment, KindInfo, LaunchFormState, LaunchTemplate, TargetInfo } from '../types';
import { GuardsEditor } from './GuardsEditor';
import { SchemaField } from './SchemaField';
import { TargetPicker } from './TargetPicker';
import { Templates } from './Templates';

// The launch form: generated from the chosen kind's params schema (GET /api/v1/kinds), checked in
// the browser with the exporter's own schemas before sending, and showing the exporter's field
// errors (400 details) on the field they name.

interface Props {
  api: FaultlineApi;
  namespace: string;
  templates: LaunchTemplate[];
  canSaveTemplates: boolean;
  onSaveTemplate: (template: LaunchTemplate) => void;
  onDeleteTemplate: (name: string) => void;
  onLaunched: (experiment: Experiment) => void;
  onCancel: () => void;
}

const NO_ERRORS: FormErrors = { fields: {}, other: [] };

export function LaunchForm({ api, namespace, templates, canSaveTemplates, onSaveTemplate, onDeleteTemplate, onLaunched, onCancel }: Props) {
  const styles = useStyles2(getStyles);
  const [kinds, setKinds] = useState<KindInfo[]>();
  const [kindsError, setKindsError] = useState<PanelError>();
  const [targets, setTargets] = useState<TargetInfo[]>([]);
  const [targetsError, setTargetsError] = useState<PanelError>();
  const [form, setForm] = useState<LaunchFormState>(() => emptyForm(undefined, namespace));
  const [nameTouched, setNameTouched] = useState(false);
  const [attempted, setAttempted] = useState(false);
  const [serverErrors, setServerErrors] = useState<FormErrors>(NO_ERRORS);
  const [sendError, setSendError] = useState<PanelError>();
  const [sending, setSending] = useState(false);

  useEffect(() => {
    let gone = false;
    api.listKinds().then(
      (list) => !gone && setKinds(list),
      (err) => !gone && setKindsError(toPanelError(err, 'load the fault kinds')),
    );
    api.listTargets().then(
      (list) => !gone && setTargets(list),
      (err) => !gone && setTargetsError(toPanelError(err, 'list the targets')),
    );
    return () => {
      gone = true;
    };
  }, [api]);

  const kind = kinds?.find((k) => k.kind === form.kind);
  const schema = paramsSchema(kind);
  const { built, errors: clientErrors } = useMemo(() => validateForm(form, kind), [form, kind]);
  // Client errors show once the user tried to launch; the server's until the next edit.
  const shown: FormErrors = attempted ? clientErrors : NO_ERRORS;
  const fieldErrors = { ...serverErrors.fields, ...shown.fields };
  const otherErrors = [...shown.other, ...serverErrors.other];

  const update = (patch: Partial<LaunchFormState>) => {
    setForm((f) => ({ ...f, ...patch }));
    setServerErrors(NO_ERRORS);
    setSendError(undefined);
  };

  const chooseKind = (k: string) => {
    const next = kinds?.find((x) => x.kind === k);
    update({ kind: k, params: defaultParams(paramsSchema(next)), ...(nameTouched ? {} : { name: defaultName(k) }) });
  };

  const applyTemplate = (t: LaunchTemplate) => {
    update({ ...t.form, name: defaultName(t.form.kind) });
    setNameTouched(false);
  };

  const launch = async () => {
    setAttempted(true);
    if (hasErrors(clientErrors)) return;
    setSending(true);
    try {
      const created = await api.createExperiment(built.body);
      onLaunched(created);
    } catch (err) {
      const e = toPanelError(err, 'launch the experiment');
      setSendError(e);
      setServerErrors(sortErrors(e.details, built.toForm));
    } finally {
      setSending(false);
    }
  };

  if (kindsError) {
    return (
      <Alert severity="error" title={kindsError.title}>
        {kindsError.message}
      </Alert>
    );
  }
  if (!kinds) return <LoadingPlaceholder text="Loading fault kinds…" />;

  const unsupported = (kind?.support ?? []).filter((s) => !s.supported);
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);

  return (
    <form
      className={styles.form}
      aria-label="Launch experiment"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void launch();
      }}
    >
      <div className={styles.templates}>
        <Templates
          templates={templates}
          canSave={canSaveTemplates}
          onApply={applyTemplate}
          onSave={(name) => {
            const { name: _experimentName, ...rest } = form;
            onSaveTemplate({ name, form: rest });
          }}
          onDelete={onDeleteTemplate}
        />
      </div>

      <Field label="Fault kind" required invalid={!!fieldErrors['/spec/fault/kind']} error={fieldErrors['/spec/fault/kind']}>
        <Combobox
          id="faultline-kind"
          options={kinds.map((k) => ({
            label: k.title,
            value: k.kind,
            description: k.support && k.support.length > 0 && k.support.every((s) => !s.supported) ? `not supported here: ${k.support[0].reason ?? ''}` : k.description,
          }))}
          value={form.kind || null}
          placeholder="Choose what to break…"
          onChange={(v) => chooseKind(v.value)}
        />
      </Field>
      {kind && (
        <>
          <div className={styles.kindDescription}>
            <Text color="secondary">{kind.description}</Text>
          </div>
          {unsupported.length > 0 && (
            <Alert severity="warning" title={unsupported.length === kind.support?.length ? 'Not supported on any host' : 'Not supported on every host'}>
              {unsupported.map((s) => `${s.daemon}: ${s.reason ?? 'unsupported'}`).join('; ')}
            </Alert>
          )}
          <FieldSet label="Parameters" className={styles.section}>
            {properties.length === 0 ? (
              <Text color="secondary">This fault has no parameters.</Text>
            ) : (
              <div className={styles.grid}>
                {properties.map(([name, prop]) => (
                  <SchemaField
                    key={`${form.kind}-${name}`}
                    name={name}
                    schema={prop}
                    required={required.has(name)}
                    value={form.params[name] ?? ''}
                    error={fieldErrors[`/spec/fault/params/${name}`]}
                    onChange={(v) => update({ params: { ...form.params, [name]: v } })}
                  />
                ))}
              </div>
            )}
          </FieldSet>
          <FieldSet label="Targets" className={styles.section}>
            <TargetPicker
              targets={targets}
              loadError={targetsError}
              selector={form.selector}
              mode={form.mode}
              value={form.value}
              required={kind.targetRequired}
              errors={fieldErrors}
              onChange={update}
            />
          </FieldSet>
        </>
      )}

      <FieldSet label="Run" className={styles.section}>
        <div className={styles.grid}>
          <Field label="Duration" description="how long the fault stays in place, e.g. 30s, 5m" required invalid={!!fieldErrors['/spec/duration']} error={fieldErrors['/spec/duration']}>
            <Input id="faultline-duration" value={form.duration} width={16} onChange={(e) => update({ duration: e.currentTarget.value })} />
          </Field>
          <Field label="Name" description="lowercase letters, digits and dashes" required invalid={!!fieldErrors['/metadata/name']} error={fieldErrors['/metadata/name']}>
            <Input
              id="faultline-name"
              value={form.name}
              onChange={(e) => {
                setNameTouched(true);
                update({ name: e.currentTarget.value });
              }}
            />
          </Field>
          <Field label="Namespace" invalid={!!fieldErrors['/metadata/namespace']} error={fieldErrors['/metadata/namespace']}>
            <Input id="faultline-namespace" value={form.namespace} onChange={(e) => update({ namespace: e.currentTarget.value })} />
          </Field>
        </div>
      </FieldSet>

      <FieldSet label="Guards" className={styles.section}>
        <GuardsEditor alerts={form.alerts} promql={form.promql} errors={fieldErrors} onChange={update} />
      </FieldSet>

      {(sendError || otherErrors.length > 0 || (attempted && hasErrors(clientErrors))) && (
        <Alert severity="error" title={sendError?.title ?? 'Some fields need attention'} role="alert">
          {sendError && sendError.kind !== 'invalid' && <div>{sendError.message}</div>}
          {sendError?.kind === 'invalid' && otherErrors.length === 0 && <div>{sendError.message}</div>}
          {otherErrors.map((d) => (
            <div key={`${d.field}-${d.reason}`}>
              {d.field} {d.reason}
            </div>
          ))}
          {!sendError && otherErrors.length === 0 && <div>Fix the marked fields, then launch again.</div>}
        </Alert>
      )}

      <Stack direction="row" gap={1}>
        <Button type="submit" icon={sending ? 'spinner' : 'bolt'} disabled={sending}>
          {sending ? 'Launching…' : 'Launch'}
        </Button>
        <Button variant="secondary" fill="outline" onClick={onCancel}>
          Cancel
        </Button>
      </Stack>
    </form>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  form: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(1), maxWidth: 920 }),
  kindDescription: css({ marginTop: theme.spacing(-1), marginBottom: theme.spacing(1) }),
  templates: css({ paddingBottom: theme.spacing(1), marginBottom: theme.spacing(1), borderBottom: `1px solid ${theme.colors.border.weak}` }),
  section: css({ marginBottom: theme.spacing(1), legend: { fontSize: theme.typography.h5.fontSize, marginBottom: theme.spacing(1) } }),
  grid: css({ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(240px, 1fr))', columnGap: theme.spacing(2) }),
});
