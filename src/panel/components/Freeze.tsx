import React, { useState } from 'react';
import { Alert, Button, Field, Input, Modal } from '@grafana/ui';
import type { FreezeState } from '../../../api/alerts';
import type { PanelError } from '../errors';

// The freeze: Editors stop all chaos and refuse new starts, with a reason everyone reads in the
// banner; only Admins lift it (the exporter's DELETE /freeze needs its admin role as well).

export function FreezeButton({ onConfirm }: { onConfirm: (reason: string) => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const close = () => {
    setOpen(false);
    setReason('');
  };
  return (
    <>
      <Button variant="secondary" icon="pause-circle" size="sm" onClick={() => setOpen(true)} disabled={busy} tooltip="Stop all experiments and refuse new ones until unfrozen">
        Freeze
      </Button>
      <Modal title="Freeze chaos?" isOpen={open} onDismiss={close}>
        <p>Every active experiment is stopped and no new experiment or workflow may start until an Admin unfreezes.</p>
        <Field label="Reason" description="Shown to everyone while chaos is frozen." required>
          <Input aria-label="Freeze reason" value={reason} maxLength={1024} onChange={(e) => setReason(e.currentTarget.value)} placeholder="e.g. release in progress" />
        </Field>
        <Modal.ButtonRow>
          <Button variant="secondary" fill="outline" onClick={close}>
            Cancel
          </Button>
          <Button
            variant="destructive"
            disabled={!reason.trim() || busy}
            onClick={async () => {
              const text = reason.trim();
              close();
              setBusy(true);
              try {
                await onConfirm(text);
              } finally {
                setBusy(false);
              }
            }}
          >
            Freeze chaos
          </Button>
        </Modal.ButtonRow>
      </Modal>
    </>
  );
}

interface BannerProps {
  state?: FreezeState;
  canUnfreeze: boolean;
  error?: PanelError;
  onUnfreeze: () => void;
  onDismissError: () => void;
}

export function FreezeBanner({ state, canUnfreeze, error, onUnfreeze, onDismissError }: BannerProps) {
  if (!state?.frozen) return null;
  const until = state.until ? ` (until ${new Date(state.until).toLocaleString()})` : '';
  return (
    <Alert severity="warning" title={`Chaos frozen by ${state.actor ?? 'someone'}: ${state.reason ?? 'no reason given'}${until}`} bottomSpacing={1}>
      {canUnfreeze && (
        <Button size="sm" variant="secondary" icon="unlock" onClick={onUnfreeze}>
          Unfreeze
        </Button>
      )}
      {error && (
        <Alert severity="error" title={error.title} bottomSpacing={0} onRemove={onDismissError}>
          {error.message}
        </Alert>
      )}
    </Alert>
  );
}
