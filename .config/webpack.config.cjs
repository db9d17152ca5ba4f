// Builds both Grafana plugins the way @grafana/create-plugin's .config/webpack does:
// one AMD module per plugin (Grafana's SystemJS loader reads AMD), swc for TypeScript/JSX,
// and everything Grafana already ships (react, react-dom, rxjs, @grafana/*, @emotion/*) left
// as externals so the plugin uses the host's copies.
//
//   dist/faultline-datasource/  plugin.json (top-level plugin.json), module.js, README.md, CHANGELOG.md, img/
//   dist/faultline-panel/       src/panel/plugin.json, module.js, img/ (only once src/panel/module.tsx exists)
const fs = require('node:fs');
const path = require('node:path');
const CopyWebpackPlugin = require('copy-webpack-plugin');

const root = path.resolve(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));

/** Modules Grafana provides at runtime (create-plugin's list, trimmed to what can appear here). */
const EXTERNALS = [
  'react',
  'react-dom',
  // Grafana 13 runs plugins with React 19: a bundled React 18 jsx-runtime would fail at load
  // (it reads React 18 internals). Grafana shares its own since 12.3 (backported to 11.6.11,
  // 12.0.10, 12.1.7, 12.2.5), hence the grafanaDependency range in plugin.json.
  'react/jsx-runtime',
  'react/jsx-dev-runtime',
  'rxjs',
  'rxjs/operators',
  'lodash',
  'moment',
  '@emotion/css',
  '@emotion/react',
  /^@grafana\/ui/i,
  /^@grafana\/runtime/i,
  /^@grafana\/data/i,
  /^@grafana\/schema/i,
];

/** plugin.json placeholders, filled in like create-plugin does. */
function fillManifest(content) {
  return content
    .toString()
    .replace(/%VERSION%/g, pkg.version)
    .replace(/%TODAY%/g, new Date().toISOString().slice(0, 10));
}

const PLUGINS = [
  {
    id: 'faultline-datasource',
    entry: './src/datasource/module.ts',
    copies: [
      { from: 'plugin.json', to: 'plugin.json', transform: fillManifest },
      { from: 'src/datasource/img', to: 'img' },
      { from: 'src/README.md', to: 'README.md' },
      { from: 'CHANGELOG.md', to: 'CHANGELOG.md' },
      { from: 'LICENSE', to: 'LICENSE', noErrorOnMissing: true },
    ],
  },
  {
    id: 'faultline-panel',
    entry: './src/panel/module.tsx',
    copies: [
      { from: 'src/panel/plugin.json', to: 'plugin.json', transform: fillManifest },
      { from: 'src/panel/img', to: 'img', noErrorOnMissing: true },
      { from: 'src/panel/README.md', to: 'README.md', noErrorOnMissing: true },
      { from: 'CHANGELOG.md', to: 'CHANGELOG.md' },
      { from: 'LICENSE', to: 'LICENSE', noErrorOnMissing: true },
    ],
  },
];

function pluginConfig(plugin, mode) {
  return {
    name: plugin.id,
    mode,
    context: root,
    devtool: mode === 'production' ? 'source-map' : 'eval-source-map',
    entry: { module: plugin.entry },
    externals: EXTERNALS,
    output: {
      path: path.join(root, 'dist', plugin.id),
      filename: '[name].js',
      library: { type: 'amd' },
      // Grafana serves a plugin's files under public/plugins/<id>/; lazy chunks resolve from there.
      publicPath: `public/plugins/${plugin.id}/`,
      uniqueName: plugin.id,
      clean: true,
    },
    resolve: { extensions: ['.ts', '.tsx', '.js', '.jsx', '.json'] },
    module: {
      rules: [
        {
          test: /\.[tj]sx?$/,
          exclude: /node_modules/,
          use: {
            loader: 'swc-loader',
            options: {
              jsc: {
                target: 'es2020',
                parser: { syntax: 'typescript', tsx: true },
                transform: { react: { runtime: 'automatic' } },
              },
            },
          },
        },
        { test: /\.svg$/, type: 'asset/resource', generator: { filename: 'img/[name][ext]' } },
      ],
    },
    plugins: [new CopyWebpackPlugin({ patterns: plugin.copies })],
    performance: { hints: false },
    stats: 'errors-warnings',
  };
}

module.exports = (_env, argv = {}) => {
  const mode = argv.mode || 'production';
  // The panel is written in parallel; build it only once its entry exists.
  return PLUGINS.filter((p) => fs.existsSync(path.join(root, p.entry))).map((p) => pluginConfig(p, mode));
};
module.exports.EXTERNALS = EXTERNALS;
