import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

test('loading @tributary/core and opening an embedded store does not load the mongodb driver', () => {
  const core = join(__dirname, '..', 'dist', 'index.js');
  const script = `
    const { openStore } = require(${JSON.stringify(core)});
    (async () => {
      const store = await openStore({ sqlite: ':memory:', inProcess: true });
      await store.close();
      const loaded = Object.keys(require.cache).filter((file) => /[\\\\/]node_modules[\\\\/]mongodb[\\\\/]/.test(file));
      process.stdout.write(JSON.stringify(loaded.length));
    })();`;
  expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })).toBe('0');
});
