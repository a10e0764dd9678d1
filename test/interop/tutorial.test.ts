/** Runs KakaoCloud's image-upload tutorial (Python requests, as the guide writes it) against a real Onggi. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT_KEY_ID, ROOT_SECRET, startServer, type RunningServer } from '../helpers/server.ts';

/** Debian's python3 has python3-requests; a python3 earlier on PATH (pyenv, venv) may not. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'tutorial.py');

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.destroy();
});

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

async function runScript(args: string[], timeoutMs: number): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' };
  const child = spawn(PYTHON, [SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, output };
}

void test('the KakaoCloud tutorial runs unchanged with Python requests', async () => {
  const result = await runScript([server.url, ROOT_KEY_ID, ROOT_SECRET], 120_000);
  assert.equal(result.code, 0, `tutorial.py exited ${String(result.code)} (signal ${String(result.signal)}):\n${result.output}`);
  assert.match(result.output, /tutorial: all steps passed/);
});

void test('the tutorial script exits non-zero when a step does not match', async () => {
  const result = await runScript([server.url, ROOT_KEY_ID, 'wrong-secret'], 60_000);
  assert.notEqual(result.code, 0, result.output);
  assert.match(result.output, /issue token: 401 \(expected 201\)/);
});
