export { startFixtureServer } from './fixture-server.js';
export type { FixtureServer, FixtureServerOptions, RecordedRequest, FaultSpec } from './fixture-server.js';
export { compilePathGlob } from './path-glob.js';
