/** Accounts made with the admin CLI, and small JSON/HTTP helpers for the IAM and /v1_ext suites. */
import assert from 'node:assert/strict';
import { admin } from './server.ts';

export type Role = 'admin' | 'member' | 'reader';

export interface Account {
  projectId: string;
  /** How the project was named to the CLI (its id, or the name given). */
  projectRef: string;
  userId: string;
  userName: string;
  keyId: string;
  keyName: string;
  secret: string;
}

let counter = 0;

/** A name unique within this test process (lowercase, digits and '-'). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid.toString(36)}-${counter.toString(36)}`;
}

export function asRecord(value: unknown, what = 'value'): Record<string, unknown> {
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${what} should be a JSON object, got ${JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

export function asArray(value: unknown, what = 'value'): unknown[] {
  assert.ok(Array.isArray(value), `${what} should be a JSON array, got ${JSON.stringify(value)}`);
  return value as unknown[];
}

export function str(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  assert.equal(typeof value, 'string', `${key} should be a string in ${JSON.stringify(record)}`);
  return value as string;
}

/**
 * Creates (through `onggi admin`) a user with `role` in a project and an access key for it.
 * The project is created unless `project` names an existing one (by name or id).
 */
export async function createAccount(dataDir: string, role: Role, options: { project?: string; unrestricted?: boolean } = {}): Promise<Account> {
  let projectRef = options.project;
  if (projectRef === undefined) {
    const project = asRecord(await admin(dataDir, 'project', 'create', uniqueName('proj')));
    projectRef = str(project, 'id');
  }
  const user = asRecord(await admin(dataDir, 'user', 'create', uniqueName('user')));
  await admin(dataDir, 'role', 'assign', projectRef, str(user, 'id'), role);
  const keyName = uniqueName('key');
  const key = asRecord(await admin(dataDir, 'key', 'create', projectRef, str(user, 'id'), '--name', keyName, ...(options.unrestricted ? ['--unrestricted'] : [])));
  const projectId = str(key, 'projectId');
  return {
    projectId,
    projectRef,
    userId: str(user, 'id'),
    userName: str(user, 'name'),
    keyId: str(key, 'id'),
    keyName: str(key, 'name'),
    secret: str(key, 'secret'),
  };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is empty or not JSON. */
  json: unknown;
}

export async function request(
  url: string,
  init: { method?: string; token?: string | undefined; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers['X-Auth-Token'] = init.token;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const response = await fetch(url, { method: init.method ?? 'GET', headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Polls `probe` until it returns true or `timeoutMs` passes; returns how long it took, or null. */
export async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<number | null> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) return null;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
