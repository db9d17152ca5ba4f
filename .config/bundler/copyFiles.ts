import { getPackageJson, getPluginJson, hasReadme, pluginJsonFiles } from './utils.ts';

// What lands in dist/ besides the bundles: every plugin.json (placeholders filled in), READMEs, the
// LICENSE and CHANGELOG, logos, screenshots and the app's dashboards. Paths are relative to src/.

const pkg = getPackageJson();

/** plugin.json / README placeholders, as create-plugin's ReplaceInFileWebpackPlugin fills them. */
export function fillPlaceholders(content: Buffer): string {
  return content
    .toString()
    .replace(/%VERSION%/g, pkg.version)
    .replace(/%TODAY%/g, new Date().toISOString().substring(0, 10))
    .replace(/%PLUGIN_ID%/g, getPluginJson().id);
}

const pluginJson = getPluginJson();
const screenshotPaths: string[] = pluginJson.info?.screenshots?.map((s: { path: string }) => s.path) ?? [];

export const copyFilePatterns = [
  { from: hasReadme() ? 'README.md' : '../README.md', to: '.', force: true, transform: fillPlaceholders },
  { from: '../LICENSE', to: '.' },
  { from: '../CHANGELOG.md', to: '.', force: true },
  ...pluginJsonFiles().map((f) => ({ from: f, to: f, transform: fillPlaceholders })),
  { from: '*/README.md', to: '.', noErrorOnMissing: true, transform: fillPlaceholders },
  { from: 'dashboards/*.json', to: '.' },
  // Logos of the app and the nested plugins (plugin.json info.logos).
  { from: '**/img/*.svg', to: '.' },
  // Taken by tests/integration/app-browser.test.ts from the built plugin; the package test requires them.
  ...screenshotPaths.map((p) => ({ from: p, to: p, noErrorOnMissing: true })),
];
