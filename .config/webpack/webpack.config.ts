/*
 * The plugin build, in the shape of @grafana/create-plugin 7.10's .config/webpack/webpack.config.ts
 * (see .config/README.md for what differs and why): one AMD module per plugin (the app and its nested
 * data source and panel), swc for TypeScript/JSX, Grafana's shared modules as externals, source maps.
 */
import CopyWebpackPlugin from 'copy-webpack-plugin';
import path from 'node:path';
import process from 'node:process';
import webpack, { type Configuration } from 'webpack';

import { BuildModeWebpackPlugin } from './BuildModeWebpackPlugin.ts';
import { DIST_DIR, SOURCE_DIR } from '../bundler/constants.ts';
import { getCPConfigVersion, getEntries, getPackageJson, getPluginJson } from '../bundler/utils.ts';
import { externals } from '../bundler/externals.ts';
import { copyFilePatterns } from '../bundler/copyFiles.ts';

const pluginJson = getPluginJson();
const cpVersion = getCPConfigVersion();
const pluginVersion = getPackageJson().version;

export type Env = { [key: string]: true | string | Env };

const config = async (env: Env): Promise<Configuration> => ({
  cache: { type: 'filesystem', buildDependencies: { config: [path.resolve(process.cwd(), '.config', 'webpack', 'webpack.config.ts')] } },
  context: path.join(process.cwd(), SOURCE_DIR),
  devtool: env.production ? 'source-map' : 'eval-source-map',
  entry: getEntries(path.resolve(process.cwd(), '.config', 'bundler', 'grafana-public-path.js')),
  externals,
  mode: env.production ? 'production' : 'development',
  module: {
    rules: [
      {
        exclude: /(node_modules)/,
        test: /\.[tj]sx?$/,
        use: {
          loader: 'swc-loader',
          options: {
            jsc: {
              target: 'es2015',
              loose: false,
              parser: { syntax: 'typescript', tsx: true, decorators: false, dynamicImport: true },
              // The automatic runtime imports react/jsx-runtime, which Grafana shares from 12.3 on.
              transform: { react: { runtime: 'automatic' } },
            },
          },
        },
      },
      { test: /\.(png|jpe?g|gif|svg)$/, type: 'asset/resource', generator: { filename: env.production ? '[hash][ext]' : '[file]' } },
    ],
  },
  output: {
    clean: true,
    filename: '[name].js',
    chunkFilename: env.production ? '[name].js?_cache=[contenthash]' : '[name].js',
    library: { type: 'amd' },
    path: path.resolve(process.cwd(), DIST_DIR),
    publicPath: `public/plugins/${pluginJson.id}/`,
    uniqueName: pluginJson.id,
    crossOriginLoading: 'anonymous',
  },
  plugins: [
    new BuildModeWebpackPlugin(),
    new webpack.BannerPlugin({
      banner: `/* [create-plugin] version: ${cpVersion} */\n/* [create-plugin] plugin: ${pluginJson.id}@${pluginVersion} */`,
      raw: true,
      entryOnly: true,
      // After minifying (create-plugin keeps the banner through terser's comment filter instead).
      stage: webpack.Compilation.PROCESS_ASSETS_STAGE_REPORT,
    }),
    new CopyWebpackPlugin({ patterns: copyFilePatterns }),
  ],
  performance: { hints: false },
  resolve: { extensions: ['.js', '.jsx', '.ts', '.tsx'], unsafeCache: true },
  stats: 'errors-warnings',
});

export default config;
