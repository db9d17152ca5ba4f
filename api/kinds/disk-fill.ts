import { Type } from '@sinclair/typebox';
import { Percent, Size } from '../common';
import { diskPathProblems } from '../disk-paths';
import { defineKind } from './types';

export default defineKind({
  kind: 'disk-fill',
  title: 'Disk fill',
  description: 'Preallocates a file under `path` (size, or percent of the file system); removed on recover. Never leaves less than `reserve` free.',
  scope: 'host',
  targetRequired: false,
  requires: [],
  params: Type.Object(
    {
      path: Type.String({ pattern: '^/[^\\0]*$', maxLength: 4096, description: 'an existing directory (absolute path)' }),
      size: Type.Optional(Size({ description: 'bytes to fill, e.g. 1GiB' })),
      percent: Type.Optional(Percent({ minimum: 1, description: 'share of the file system size to fill' })),
      reserve: Size({ default: '64MiB', description: 'free space that must remain' }),
    },
    { additionalProperties: false },
  ),
  check: diskPathProblems,
});
