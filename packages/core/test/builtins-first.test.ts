import { isBuiltin } from 'node:module';
import { builtinsFor } from '../src/cli/builtins-first.js';

describe('the built-ins a command loads before it sets V8 flags', () => {
  test('none for --version and help; the store\u2019s for other commands; the network\u2019s too for sync and serve', () => {
    expect(builtinsFor(['--version'])).toEqual([]);
    expect(builtinsFor(['help', 'sync'])).toEqual([]);
    const list = builtinsFor(['--home', '/h', 'repo', 'list']);
    expect(list).toContain('worker_threads');
    expect(list).not.toContain('http');
    for (const command of [['sync', 'r'], ['--home', '/h', 'serve', '--listen', '127.0.0.1:0']]) {
      expect(builtinsFor(command)).toEqual(expect.arrayContaining([...list, 'http', 'http2', 'zlib']));
    }
  });

  test('every name is one of node\u2019s built-in modules', () => {
    for (const name of builtinsFor(['sync'])) expect(isBuiltin(`node:${name}`)).toBe(true);
  });
});
