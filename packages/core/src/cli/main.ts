#!/usr/bin/env node
import { loadBuiltinsFirst } from './builtins-first.js';
import { enableCliCompileCache } from './compile-cache.js';

const args = process.argv.slice(2);
// before the V8 flags: built-ins loaded after them miss node's code cache (see loadBuiltinsFirst)
loadBuiltinsFirst(args);
// before the rest of our modules, so that they compile from code kept by earlier runs
enableCliCompileCache(args, process.env);
(require('./start.js') as typeof import('./start.js')).start(args);
