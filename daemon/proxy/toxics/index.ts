import type { ToxicType } from '../../../api/proxy';
import bandwidth from './bandwidth';
import latency from './latency';
import limitData from './limit-data';
import resetPeer from './reset-peer';
import slicer from './slicer';
import slowClose from './slow-close';
import timeout from './timeout';
import type { ToxicDefinition } from './types';

/** Every toxic, by type: the only list (a unit test keeps it in step with api/proxy.ts and this folder). */
export const TOXICS: Record<ToxicType, ToxicDefinition> = {
  bandwidth,
  latency,
  'limit-data': limitData,
  'reset-peer': resetPeer,
  slicer,
  'slow-close': slowClose,
  timeout,
};

export * from './types';
