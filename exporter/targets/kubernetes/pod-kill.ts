import type { Static } from '@sinclair/typebox';
import spec from '../../../api/kinds/pod-kill';
import { isConflict, isNotFound } from './client';
import { definePodFault } from './pod-fault';

// Deletes the pod (uid as precondition: a StatefulSet's replacement with the same name is never hit).
// Its controller makes a new one; there is nothing to undo, so recover only ends the record.
export default definePodFault<Static<typeof spec.params>, { deleted: boolean }>({
  spec,
  async inject({ client, target, params }) {
    try {
      await client.deletePod(target.namespace, target.name, target.uid, params.gracePeriodSeconds ?? 0);
      return { deleted: true };
    } catch (err) {
      // Gone (404) or replaced by a new pod of the same name (409 on the uid precondition): nothing to kill.
      if (isNotFound(err) || isConflict(err)) return { deleted: false };
      throw err;
    }
  },
  async recover() {
    /* a deleted pod is replaced by its controller, not by us */
  },
});
