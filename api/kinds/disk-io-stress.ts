import { Type } from '@sinclair/typebox';
import { Size } from '../common';
import { diskPathProblems } from '../disk-paths';
import { defineKind } from './types';

export default defineKind({
  kind: 'disk-io-stress',
  title: 'Disk I/O stress',
  description: 'Workers doing synced reads and writes on files in a temporary directory under `path`.',
  scope: 'host',
  targetRequired: false,
  requires: [],
  params: Type.Object(
    {
      path: Type.String({ pattern: '^/[^\\0]*$', maxLength: 4096, description: 'an existing directory (absolute path)' }),
      workers: Type.Integer({ minimum: 1, maximum: 32, default: 1 }),
      size: Size({ default: '64MiB', description: 'file size per worker' }),
      mode: Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('mixed')], { default: 'write' }),
    },
    { additionalProperties: false },
  ),
  check: diskPathProblems,
});
