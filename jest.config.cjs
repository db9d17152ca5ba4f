// Two projects: server-side code runs in node, the Grafana plugin in jsdom with the real @grafana packages.
// Sources are ESM TypeScript; @swc/jest turns them into CommonJS for jest.
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } }, target: 'es2022' }, module: { type: 'commonjs' } }];

module.exports = {
  // Compiles the server sources to dist-server/, which the tests' child processes run (see the file).
  globalSetup: '<rootDir>/tests/build-server.global-setup.mjs',
  // Fails the run when the tests leave temp folders behind (tests/temp-dirs.mjs).
  globalTeardown: '<rootDir>/tests/temp-dirs.global-teardown.mjs',
  projects: [
    {
      displayName: 'server',
      testEnvironment: 'node',
      roots: ['<rootDir>/tests'],
      testMatch: ['<rootDir>/tests/{unit,integration}/**/*.test.ts'],
      setupFiles: ['<rootDir>/tests/temp-dirs.worker.cjs'],
      transform: { '^.+\\.(t|j)sx?$': swc },
      moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
      // @kubernetes/client-node (and the OIDC libraries it imports) ship only ESM: let swc turn them into CommonJS too.
      transformIgnorePatterns: ['/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose)/)'],
    },
    {
      displayName: 'plugin',
      testEnvironment: 'jsdom',
      roots: ['<rootDir>/tests'],
      testMatch: ['<rootDir>/tests/plugin/**/*.test.{ts,tsx}'],
      transform: { '^.+\\.(t|j)sx?$': swc, '^.+\\.mjs$': swc },
      moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1', '\\.(css|scss|svg|png)$': '<rootDir>/tests/plugin/file-stub.cjs' },
      // @grafana/* pull in a few ESM-only packages (marked, ...): let swc turn them into CommonJS too.
      transformIgnorePatterns: ['/node_modules/(?!(marked|marked-mangle|d3-interpolate|d3-color|d3-scale-chromatic|react-calendar|get-user-locale|memoize|mimic-function|@wojtekmaj/date-utils)/)'],
      setupFiles: ['<rootDir>/tests/temp-dirs.worker.cjs'],
      setupFilesAfterEnv: ['<rootDir>/tests/plugin/setup.ts'],
    },
  ],
};
