import webpack from 'webpack';

// Writes the build mode into every plugin.json in dist/ (as create-plugin does): Grafana and the
// plugin validator read it to tell a development build from a release.
const PLUGIN_NAME = 'BuildModeWebpack';

export class BuildModeWebpackPlugin {
  apply(compiler: webpack.Compiler) {
    compiler.hooks.compilation.tap(PLUGIN_NAME, (compilation) => {
      compilation.hooks.processAssets.tap({ name: PLUGIN_NAME, stage: webpack.Compilation.PROCESS_ASSETS_STAGE_ADDITIONS }, () => {
        for (const asset of compilation.getAssets()) {
          if (!asset.name.endsWith('plugin.json')) continue;
          const json = { ...JSON.parse(asset.source.source().toString()), buildMode: compilation.options.mode };
          compilation.updateAsset(asset.name, new webpack.sources.RawSource(JSON.stringify(json, null, 4)));
        }
      });
    });
  }
}
