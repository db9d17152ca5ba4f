import React, { useState } from 'react';
import { Button, ConfirmModal } from '@grafana/ui';

// The kill switch. Always shown to Editors (also when nothing seems to run: the list may be
// filtered or stale), always behind one confirmation.

interface Props {
  activeCount: number;
  onConfirm: () => Promise<void>;
}

export function ConfirmStopAll({ activeCount, onConfirm }: Props) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  return (
    <>
      <Button variant="destructive" icon="power" size="sm" onClick={() => setOpen(true)} disabled={busy} tooltip="Stop every running experiment in every namespace">
        Stop all
      </Button>
      <ConfirmModal
        isOpen={open}
        title="Stop all experiments?"
        body={
          activeCount === 1
            ? 'One experiment is active. It will be stopped and its faults reverted on every host.'
            : activeCount === 0
              ? 'No experiment is active in this view. Stop all still stops every active experiment in every namespace and reverts its faults on every host.'
              : `${activeCount} experiments are active. Every active experiment in every namespace will be stopped and its faults reverted on every host.`
        }
        confirmText="Stop all"
        onConfirm={async () => {
          setOpen(false);
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
          }
        }}
        onDismiss={() => setOpen(false)}
      />
    </>
  );
}
