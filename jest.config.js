/** Tests run against source (ts-jest, transpile only); `tsc -b` type-checks separately. */
const packages = ['plugin-api', 'core', 'importer-file', 'importer-rpm-example', 'conformance'];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }],
  },
  moduleNameMapper: {
    ...Object.fromEntries(packages.map((p) => [`^@tributary/${p}$`, `<rootDir>/packages/${p}/src/index.ts`])),
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // A hang detector, not a speed check: no test may depend on the machine's speed, and one that
  // takes 10 s on an idle machine takes several times that beside other CPU-heavy jobs.
  testTimeout: 180_000,
  maxWorkers: 2,
};
