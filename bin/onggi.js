#!/usr/bin/env node
// Runs the built JavaScript in dist/, building it first when a source is newer than the build.
// Where no TypeScript compiler is installed and dist/ is missing or older than src/, runs the sources through tsx.
import { ensureBuilt } from './ensure-built.js';

if (ensureBuilt()) {
  await import('../dist/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
