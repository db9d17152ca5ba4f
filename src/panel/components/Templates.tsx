import React, { useState } from 'react';
import { css } from '@emotion/css';
import { Button, Combobox, IconButton, Input, Stack, useStyles2 } from '@grafana/ui';
import type { LaunchTemplate } from '../types';

// Templates live in the panel options (the dashboard JSON), not in localStorage: a drill such as
// "checkout latency 200ms for 5m, stop on HighErrorRate" is team knowledge. Stored with the
// dashboard it is shared with everyone who opens it, versioned with the dashboard, provisioned
// from files and survives a new browser. Saving one changes the dashboard, which is then saved as usual.

interface Props {
  templates: LaunchTemplate[];
  /** Saving needs a writable dashboard; without it only applying is offered. */
  canSave: boolean;
  onApply: (template: LaunchTemplate) => void;
  onSave: (name: string) => void;
  onDelete: (name: string) => void;
}

export function Templates({ templates, canSave, onApply, onSave, onDelete }: Props) {
  const styles = useStyles2(getStyles);
  const [chosen, setChosen] = useState<string>();
  const [name, setName] = useState('');
  const options = templates.map((t) => ({ label: t.name, value: t.name, description: `${t.form.kind} · ${t.form.duration}` }));
  return (
    <Stack direction="row" gap={1} alignItems="center" wrap="wrap">
      {/* Combobox takes no aria-label: a label the eye does not need (the placeholder says it) but a screen reader does. */}
      <span id="faultline-template-label" className={styles.visuallyHidden}>
        Start from a template
      </span>
      <Combobox
        id="faultline-template"
        aria-labelledby="faultline-template-label"
        width={26}
        options={options}
        value={chosen ?? null}
        placeholder={templates.length ? 'Start from a template…' : 'No templates saved yet'}
        disabled={templates.length === 0}
        onChange={(v) => {
          const t = templates.find((x) => x.name === v.value);
          setChosen(t?.name);
          if (t) onApply(t);
        }}
      />
      {chosen && canSave && (
        <IconButton
          name="trash-alt"
          tooltip={`Delete template ${chosen}`}
          onClick={() => {
            onDelete(chosen);
            setChosen(undefined);
          }}
        />
      )}
      {canSave && (
        <>
          <Input aria-label="Template name" width={20} placeholder="Template name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <Button
            size="md"
            variant="secondary"
            icon="save"
            disabled={!name.trim()}
            onClick={() => {
              onSave(name.trim());
              setChosen(name.trim());
              setName('');
            }}
          >
            Save as template
          </Button>
        </>
      )}
    </Stack>
  );
}

const getStyles = () => ({
  visuallyHidden: css({ position: 'absolute', width: 1, height: 1, overflow: 'hidden', clip: 'rect(0 0 0 0)', whiteSpace: 'nowrap' }),
});
