/**
 * How Swift's clients authenticate: the chain of /v1 (temp URLs first, as Swift's tempurl runs before auth, then
 * the OpenStack chain) and Swift's v1 auth, `GET /auth/v1.0` with `X-Auth-User: <project>:<user>` and
 * `X-Auth-Key: <access key secret>` (see `Identity.issueTokenForMember`), which older tools and Cyberduck speak.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asOnggiError } from '../../core/errors.ts';
import { headerValue, OPENSTACK_AUTHENTICATORS, type Authenticator, type RequestContext } from '../../http/context.ts';
import { sendSwiftError, sendSwiftStatus } from './errors.ts';
import { tempUrlAuthenticator } from './tempurl.ts';

export const SWIFT_AUTHENTICATORS: readonly Authenticator[] = [tempUrlAuthenticator, ...OPENSTACK_AUTHENTICATORS];

const AUTH_V1_PATHS: ReadonlySet<string> = new Set(['/auth/v1.0', '/auth/v1.0/']);

/** The `/auth` route: Swift's v1 auth. */
export async function swiftAuthV1(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  ctx.op = 'AuthV1';
  const isHead = req.method === 'HEAD';
  if (!AUTH_V1_PATHS.has(ctx.rawPath)) {
    sendSwiftStatus(res, 404, isHead);
    return;
  }
  if (req.method !== 'GET' && !isHead) {
    sendSwiftStatus(res, 405, isHead);
    return;
  }
  const user = headerValue(req, 'x-auth-user') ?? headerValue(req, 'x-storage-user') ?? '';
  const key = headerValue(req, 'x-auth-key') ?? headerValue(req, 'x-storage-pass') ?? '';
  const colon = user.indexOf(':');
  if (colon <= 0 || colon === user.length - 1 || key === '') {
    sendSwiftStatus(res, 401, isHead, undefined, { 'Www-Authenticate': 'Swift realm="unknown"' });
    return;
  }
  try {
    const issued = await ctx.core.identity.issueTokenForMember(user.slice(0, colon), user.slice(colon + 1), key);
    ctx.account = issued.project.id;
    const storageUrl = `${ctx.publicUrl}/v1/${issued.project.id}`;
    const body = Buffer.from(JSON.stringify({ storage: { default: 'local', local: storageUrl } }));
    res.writeHead(200, {
      'X-Storage-Url': storageUrl,
      'X-Auth-Token': issued.token,
      'X-Storage-Token': issued.token,
      'X-Auth-Token-Expires': Math.max(0, Math.floor((issued.claims.expiresAt - Date.now()) / 1000)),
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': isHead ? 0 : body.length,
    });
    res.end(isHead ? undefined : body);
  } catch (caught) {
    const err = asOnggiError(caught);
    if (!err) throw caught;
    sendSwiftError(res, err, isHead, err.code === 'InvalidCredentials' ? { 'Www-Authenticate': 'Swift realm="unknown"' } : {});
  }
}
