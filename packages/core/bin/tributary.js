#!/usr/bin/env node
'use strict';
// The `tributary` command. The CLI itself is compiled TypeScript (dist/cli/main.js, which runs on
// load); this file is committed, so npm links the command at install time, before anything is built.
const { existsSync } = require('node:fs');
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`tributary: the CLI is not built (${main} is missing); run \`npm run build\` in the repository's root first\n`);
  process.exitCode = 1;
} else {
  require(main);
}
