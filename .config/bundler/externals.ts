import type { Configuration, ExternalItemFunctionData } from 'webpack';

// Modules Grafana shares with plugins at runtime: the bundle imports them from the host instead of
// carrying its own copies (two Reacts in one page break hooks; @grafana/* must be the host's to see
// its services). create-plugin's list; tests/plugin/grafana-dependency.test.ts checks that the
// plugins' grafanaDependency is a version range that shares every one module.js asks for.
export const externals: Configuration['externals'] = [
  // Required for dynamic publicPath resolution (bundler/grafana-public-path.js).
  { 'amd-module': 'module' },
  'lodash',
  'jquery',
  'moment',
  'slate',
  'emotion',
  '@emotion/react',
  '@emotion/css',
  'prismjs',
  'slate-plain-serializer',
  '@grafana/slate-react',
  'react',
  'react/jsx-runtime',
  'react/jsx-dev-runtime',
  'react-dom',
  'react-redux',
  'redux',
  'rxjs',
  'i18next',
  'react-router',
  'd3',
  'angular',
  /^@grafana\/ui/i,
  /^@grafana\/runtime/i,
  /^@grafana\/data/i,
  /^@grafana\/schema/i,

  // Legacy SDK imports with the "grafana/" prefix are external too.
  ({ request }: ExternalItemFunctionData, callback: (error?: Error, result?: string) => void) => {
    const prefix = 'grafana/';
    if (request && request.startsWith(prefix)) return callback(undefined, request.slice(prefix.length));
    callback();
  },
];
