/** /identity/v3/auth/tokens over real HTTP: issue, validate, reject, and revoke through the admin CLI. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asArray, asRecord, createAccount, request, str, waitFor, type JsonResponse } from '../helpers/accounts.ts';
import { admin, login, ROOT_KEY_ID, ROOT_SECRET, startServer, type RunningServer } from '../helpers/server.ts';

const TWELVE_HOURS_MS = 12 * 3600 * 1000;
const KEYSTONE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const HEX32 = /^[0-9a-f]{32}$/;

let server: RunningServer;
let tokensUrl: string;

before(async () => {
  server = await startServer();
  tokensUrl = `${server.url}/identity/v3/auth/tokens`;
});
after(async () => {
  await server.destroy();
});

function byId(id: string, secret: string): unknown {
  return { auth: { identity: { methods: ['application_credential'], application_credential: { id, secret } } } };
}

function byName(name: string, userId: string, secret: string): unknown {
  return { auth: { identity: { methods: ['application_credential'], application_credential: { name, secret, user: { id: userId } } } } };
}

async function issue(body: unknown): Promise<JsonResponse> {
  return request(tokensUrl, { method: 'POST', body });
}

/** Sends raw bytes, so that fetch adds no Content-Type of its own. */
async function issueRaw(body: string, contentType: string | null): Promise<JsonResponse> {
  const response = await fetch(tokensUrl, {
    method: 'POST',
    headers: contentType === null ? {} : { 'Content-Type': contentType },
    body: new TextEncoder().encode(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? (JSON.parse(text) as unknown) : undefined };
}

function assertKeystoneError(response: JsonResponse, status: number): void {
  assert.equal(response.status, status, response.text);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const error = asRecord(asRecord(response.json, 'error body').error, 'error');
  assert.equal(error.code, status);
  assert.equal(typeof error.message, 'string');
  assert.ok(str(error, 'message').length > 0);
  assert.equal(typeof error.title, 'string');
  assert.ok(str(error, 'title').length > 0);
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'title']);
}

function tokenOf(response: JsonResponse): Record<string, unknown> {
  return asRecord(asRecord(response.json, 'token body').token, 'token');
}

/** Changes one character of the token, keeping it in the base64url alphabet. */
function tamper(token: string, at: number): string {
  let index = at;
  while (token[index] === '.') index += 1;
  const current = token[index] ?? '';
  const replacement = current === 'A' ? 'B' : 'A';
  return token.slice(0, index) + replacement + token.slice(index + 1);
}

void describe('issue a token', () => {
  void test('by access key id + secret: 201, X-Subject-Token and a Keystone-shaped body', async () => {
    const before = Date.now();
    const response = await issue(byId(ROOT_KEY_ID, ROOT_SECRET));
    assert.equal(response.status, 201, response.text);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const subject = response.headers.get('x-subject-token') ?? '';
    assert.ok(subject.length >= 20, 'X-Subject-Token carries the token');

    const token = tokenOf(response);
    assert.deepEqual(token.methods, ['application_credential']);

    const issuedAt = str(token, 'issued_at');
    const expiresAt = str(token, 'expires_at');
    assert.match(issuedAt, KEYSTONE_TIME);
    assert.match(expiresAt, KEYSTONE_TIME);
    assert.ok(Math.abs(Date.parse(issuedAt) - before) < 60_000, `issued_at ${issuedAt} is now`);
    assert.ok(Math.abs(Date.parse(expiresAt) - Date.parse(issuedAt) - TWELVE_HOURS_MS) < 2000, 'valid for 12 hours');

    const auditIds = asArray(token.audit_ids, 'audit_ids');
    assert.ok(auditIds.length >= 1);
    for (const id of auditIds) assert.ok(typeof id === 'string' && id.length > 0);

    const user = asRecord(token.user, 'user');
    assert.match(str(user, 'id'), HEX32);
    assert.equal(user.name, 'admin');
    const userDomain = asRecord(user.domain, 'user.domain');
    assert.equal(typeof userDomain.id, 'string');
    assert.equal(typeof userDomain.name, 'string');

    const project = asRecord(token.project, 'project');
    const projectId = str(project, 'id');
    assert.match(projectId, HEX32, 'the project id is 32 hex, no AUTH_ prefix');
    assert.equal(project.name, 'default');
    const projectDomain = asRecord(project.domain, 'project.domain');
    assert.equal(typeof projectDomain.id, 'string');
    assert.equal(typeof projectDomain.name, 'string');

    const roles = asArray(token.roles, 'roles').map((role) => asRecord(role, 'role'));
    assert.ok(roles.some((role) => role.name === 'admin'), JSON.stringify(roles));
    for (const role of roles) assert.equal(typeof role.id, 'string');

    const catalog = asArray(token.catalog, 'catalog').map((entry) => asRecord(entry, 'catalog entry'));
    const objectStore = catalog.find((entry) => entry.type === 'object-store');
    assert.ok(objectStore, `an object-store service in ${JSON.stringify(catalog)}`);
    const endpoints = asArray(objectStore.endpoints, 'endpoints').map((endpoint) => asRecord(endpoint, 'endpoint'));
    const publicEndpoint = endpoints.find((endpoint) => endpoint.interface === 'public');
    assert.ok(publicEndpoint, 'a public object-store endpoint');
    assert.equal(publicEndpoint.url, `${server.url}/v1/${projectId}`);
    assert.equal(typeof publicEndpoint.region, 'string');

    const credential = asRecord(token.application_credential, 'application_credential');
    assert.equal(credential.id, ROOT_KEY_ID);
    assert.equal(credential.name, 'root');

    // The catalog URL and the token work together, which is what every client does next.
    const head = await fetch(str(publicEndpoint, 'url'), { method: 'HEAD', headers: { 'X-Auth-Token': subject } });
    assert.ok(head.status === 204 || head.status === 200, `HEAD account: ${head.status}`);
  });

  void test('by access key name + secret + user id: 201 for the same credential', async () => {
    const first = tokenOf(await issue(byId(ROOT_KEY_ID, ROOT_SECRET)));
    const userId = str(asRecord(first.user), 'id');
    const response = await issue(byName('root', userId, ROOT_SECRET));
    assert.equal(response.status, 201, response.text);
    assert.ok((response.headers.get('x-subject-token') ?? '').length > 0);
    const token = tokenOf(response);
    assert.equal(asRecord(token.application_credential).id, ROOT_KEY_ID);
    assert.equal(asRecord(token.user).id, userId);
    assert.deepEqual(token.project, first.project);
  });

  void test('two tokens of one key are different and carry different audit ids', async () => {
    const a = await issue(byId(ROOT_KEY_ID, ROOT_SECRET));
    const b = await issue(byId(ROOT_KEY_ID, ROOT_SECRET));
    assert.notEqual(a.headers.get('x-subject-token'), b.headers.get('x-subject-token'));
    assert.notDeepEqual(tokenOf(a).audit_ids, tokenOf(b).audit_ids);
  });

  void test('unknown access key name or unknown user → 401, exactly as a wrong secret (no name oracle)', async () => {
    const userId = str(asRecord(tokenOf(await issue(byId(ROOT_KEY_ID, ROOT_SECRET))).user), 'id');
    const wrongSecret = await issue(byName('root', userId, 'not-the-secret'));
    for (const response of [await issue(byName('no-such-key', userId, ROOT_SECRET)), await issue(byName('root', '0123456789abcdef0123456789abcdef', ROOT_SECRET))]) {
      assertKeystoneError(response, 401);
      assert.equal(response.text, wrongSecret.text);
    }
  });

  void test('wrong secret or unknown access key id → 401, with no token', async () => {
    const wrongSecret = await issue(byId(ROOT_KEY_ID, `${ROOT_SECRET}x`));
    assertKeystoneError(wrongSecret, 401);
    assert.equal(wrongSecret.headers.get('x-subject-token'), null);
    assertKeystoneError(await issue(byId('0123456789abcdef0123456789abcdef', ROOT_SECRET)), 401);
    const userId = str(asRecord(tokenOf(await issue(byId(ROOT_KEY_ID, ROOT_SECRET))).user), 'id');
    assertKeystoneError(await issue(byName('root', userId, 'not-the-secret')), 401);
  });

  void test('missing or non-JSON Content-Type → 400', async () => {
    const body = JSON.stringify(byId(ROOT_KEY_ID, ROOT_SECRET));
    assertKeystoneError(await issueRaw(body, null), 400);
    assertKeystoneError(await issueRaw(body, 'text/plain'), 400);
    assertKeystoneError(await issueRaw(body, 'application/x-www-form-urlencoded'), 400);
    // The same bytes with the right header are fine, so the 400s above are about the header.
    assert.equal((await issueRaw(body, 'application/json; charset=utf-8')).status, 201);
  });

  void test('malformed JSON, missing fields, or methods naming neither application_credential nor password → 400', async () => {
    assertKeystoneError(await issueRaw('{"auth": {"identity": ', 'application/json'), 400);
    assertKeystoneError(await issueRaw('', 'application/json'), 400);
    const bad: unknown[] = [
      {},
      [],
      { auth: {} },
      { auth: { identity: {} } },
      { auth: { identity: { methods: ['application_credential'] } } },
      { auth: { identity: { methods: ['application_credential'], application_credential: { id: ROOT_KEY_ID } } } },
      { auth: { identity: { methods: ['application_credential'], application_credential: { secret: ROOT_SECRET } } } },
      { auth: { identity: { methods: ['application_credential'], application_credential: { name: 'root', secret: ROOT_SECRET } } } },
      { auth: { identity: { application_credential: { id: ROOT_KEY_ID, secret: ROOT_SECRET } } } },
      { auth: { identity: { methods: 'application_credential', application_credential: { id: ROOT_KEY_ID, secret: ROOT_SECRET } } } },
      { auth: { identity: { methods: ['password'], application_credential: { id: ROOT_KEY_ID, secret: ROOT_SECRET } } } },
      { auth: { identity: { methods: [], application_credential: { id: ROOT_KEY_ID, secret: ROOT_SECRET } } } },
      // A password request with no user named (password auth itself: keystone-password.test.ts).
      { auth: { identity: { methods: ['password'], password: { user: { password: ROOT_SECRET, domain: { name: 'Default' } } } } } },
    ];
    for (const body of bad) {
      const response = await issue(body);
      assert.equal(response.status, 400, `${JSON.stringify(body)} → ${response.status} ${response.text}`);
      assertKeystoneError(response, 400);
    }
  });
});

void describe('validate a token', () => {
  let issued: JsonResponse;
  let token: string;
  before(async () => {
    issued = await issue(byId(ROOT_KEY_ID, ROOT_SECRET));
    token = issued.headers.get('x-subject-token') ?? '';
  });

  void test('GET with X-Auth-Token + X-Subject-Token → 200, the same body, X-Subject-Token echoed', async () => {
    const response = await request(tokensUrl, { token, headers: { 'X-Subject-Token': token } });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.headers.get('x-subject-token'), token);
    assert.deepEqual(response.json, issued.json);
  });

  void test('one token can validate another', async () => {
    const other = await issue(byId(ROOT_KEY_ID, ROOT_SECRET));
    const otherToken = other.headers.get('x-subject-token') ?? '';
    const response = await request(tokensUrl, { token, headers: { 'X-Subject-Token': otherToken } });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.headers.get('x-subject-token'), otherToken);
    assert.deepEqual(response.json, other.json);
  });

  void test('an invalid or missing subject token → 404', async () => {
    assertKeystoneError(await request(tokensUrl, { token, headers: { 'X-Subject-Token': 'not-a-token' } }), 404);
    assertKeystoneError(await request(tokensUrl, { token, headers: { 'X-Subject-Token': tamper(token, 5) } }), 404);
    assertKeystoneError(await request(tokensUrl, { token }), 404);
  });

  void test('a missing or invalid X-Auth-Token → 401', async () => {
    assertKeystoneError(await request(tokensUrl, { headers: { 'X-Subject-Token': token } }), 401);
    assertKeystoneError(await request(tokensUrl, { token: 'garbage', headers: { 'X-Subject-Token': token } }), 401);
    assertKeystoneError(await request(tokensUrl, { token: tamper(token, 5), headers: { 'X-Subject-Token': token } }), 401);
  });

  void test('HEAD → 200 with no body', async () => {
    const response = await fetch(tokensUrl, { method: 'HEAD', headers: { 'X-Auth-Token': token, 'X-Subject-Token': token } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-subject-token'), token);
    assert.equal(await response.text(), '');
    const invalid = await fetch(tokensUrl, { method: 'HEAD', headers: { 'X-Auth-Token': token, 'X-Subject-Token': 'nope' } });
    assert.equal(invalid.status, 404);
  });
});

void describe('tampered tokens', () => {
  void test('flipping any one character gets 401 from /v1 and /v1_ext', async () => {
    const session = await login(server.url);
    const ok = await fetch(`${session.storageUrl}?format=json`, { headers: { 'X-Auth-Token': session.token } });
    assert.equal(ok.status, 200);
    assert.equal((await request(`${server.url}/v1_ext/bucket`, { token: session.token })).status, 200);
    const positions = [0, Math.floor(session.token.length / 2), session.token.length - 2, session.token.length - 1];
    for (const at of positions) {
      const forged = tamper(session.token, at);
      assert.notEqual(forged, session.token);
      const swift = await fetch(`${session.storageUrl}?format=json`, { headers: { 'X-Auth-Token': forged } });
      assert.equal(swift.status, 401, `/v1 with a token changed at ${at}`);
      const ext = await request(`${server.url}/v1_ext/bucket`, { token: forged });
      assert.equal(ext.status, 401, `/v1_ext with a token changed at ${at}`);
    }
    const truncated = session.token.slice(0, -4);
    assert.equal((await fetch(session.storageUrl, { headers: { 'X-Auth-Token': truncated } })).status, 401);
    assert.equal((await request(`${server.url}/v1_ext/bucket`, { token: `${session.token}.x` })).status, 401);
  });
});

void describe('revocation while the server runs', () => {
  const listUrl = (): string => `${server.url}/v1_ext/bucket`;
  const rejected = (token: string) => async (): Promise<boolean> => (await request(listUrl(), { token })).status === 401;

  void test('deleting the access key with the CLI ends its tokens within ~2 s', async () => {
    const account = await createAccount(server.dataDir, 'member', { project: 'default' });
    const session = await login(server.url, account.keyId, account.secret);
    assert.equal((await request(listUrl(), { token: session.token })).status, 200);
    const swiftBefore = await fetch(`${session.storageUrl}?format=json`, { headers: { 'X-Auth-Token': session.token } });
    assert.equal(swiftBefore.status, 200);

    await admin(server.dataDir, 'key', 'delete', account.keyId);
    const took = await waitFor(rejected(session.token), 2500);
    assert.notEqual(took, null, 'the token still works 2.5 s after the key was deleted');
    const swiftAfter = await fetch(`${session.storageUrl}?format=json`, { headers: { 'X-Auth-Token': session.token } });
    assert.equal(swiftAfter.status, 401);

    // Validation through IAM agrees, and the key cannot log in again.
    const root = await login(server.url);
    assertKeystoneError(await request(tokensUrl, { token: root.token, headers: { 'X-Subject-Token': session.token } }), 404);
    assertKeystoneError(await issue(byId(account.keyId, account.secret)), 401);
  });

  void test("removing the user's role with the CLI ends the user's tokens within ~2 s", async () => {
    const account = await createAccount(server.dataDir, 'member', { project: 'default' });
    const session = await login(server.url, account.keyId, account.secret);
    assert.equal((await request(listUrl(), { token: session.token })).status, 200);

    await admin(server.dataDir, 'role', 'remove', 'default', account.userId);
    const took = await waitFor(rejected(session.token), 2500);
    assert.notEqual(took, null, 'the token still works 2.5 s after the role was removed');
    assertKeystoneError(await issue(byId(account.keyId, account.secret)), 401);
  });

  void test('deleting the user with the CLI ends its tokens within ~2 s', async () => {
    const account = await createAccount(server.dataDir, 'reader', { project: 'default' });
    const session = await login(server.url, account.keyId, account.secret);
    assert.equal((await request(listUrl(), { token: session.token })).status, 200);

    await admin(server.dataDir, 'user', 'delete', account.userId);
    assert.notEqual(await waitFor(rejected(session.token), 2500), null);
    assertKeystoneError(await issue(byId(account.keyId, account.secret)), 401);
  });

  void test('downgrading a member to reader takes write access away within ~2 s', async () => {
    const account = await createAccount(server.dataDir, 'member', { project: 'default' });
    const session = await login(server.url, account.keyId, account.secret);
    assert.deepEqual(tokenOf(await issue(byId(account.keyId, account.secret))).roles, [{ id: 'member', name: 'member' }]);

    await admin(server.dataDir, 'role', 'assign', 'default', account.userId, 'reader');
    let attempt = 0;
    const denied = await waitFor(async () => {
      attempt += 1;
      const response = await request(listUrl(), { method: 'PUT', token: session.token, body: { name: `downgrade-${attempt}-x`, type: 'STANDARD' } });
      assert.ok([201, 401, 403].includes(response.status), `${response.status} ${response.text}`);
      return response.status !== 201;
    }, 2500);
    assert.notEqual(denied, null, 'the member token could still create buckets 2.5 s after the downgrade');
    // A fresh token carries the new role.
    const fresh = tokenOf(await issue(byId(account.keyId, account.secret)));
    assert.deepEqual(asArray(fresh.roles).map((role) => asRecord(role).name), ['reader']);
  });

  void test('an access key created with an expiry caps the token lifetime; an expired key cannot log in', async () => {
    const soon = new Date(Date.now() + 3600 * 1000);
    const past = new Date(Date.now() - 60 * 1000);
    const user = asRecord(await admin(server.dataDir, 'user', 'create', 'expiring-user'));
    await admin(server.dataDir, 'role', 'assign', 'default', str(user, 'id'), 'member');
    const live = asRecord(await admin(server.dataDir, 'key', 'create', 'default', str(user, 'id'), '--name', 'soon', '--expires', soon.toISOString()));
    const dead = asRecord(await admin(server.dataDir, 'key', 'create', 'default', str(user, 'id'), '--name', 'past', '--expires', past.toISOString()));

    const response = await issue(byId(str(live, 'id'), str(live, 'secret')));
    assert.equal(response.status, 201, response.text);
    const expiresAt = Date.parse(str(tokenOf(response), 'expires_at'));
    assert.ok(Math.abs(expiresAt - soon.getTime()) < 2000, `expires_at ${new Date(expiresAt).toISOString()} follows the key's expiry`);

    assertKeystoneError(await issue(byId(str(dead, 'id'), str(dead, 'secret'))), 401);
  });
});
