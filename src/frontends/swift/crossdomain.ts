/**
 * GET /crossdomain.xml: the cross-domain policy Flash and Silverlight clients fetch before calling the API from
 * a page of another site (Swift's crossdomain middleware, with its default policy: any domain). Onggi's APIs
 * authenticate with tokens in headers, never cookies, so the policy gives a page nothing it could not send anyway.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../../http/context.ts';
import { sendSwiftStatus } from './errors.ts';
import { registerInfo } from './info.ts';

const POLICY = Buffer.from(
  '<?xml version="1.0"?>\n' +
    '<!DOCTYPE cross-domain-policy SYSTEM "http://www.adobe.com/xml/dtds/cross-domain-policy.dtd" >\n' +
    '<cross-domain-policy>\n' +
    '<allow-access-from domain="*" secure="false" />\n' +
    '</cross-domain-policy>',
);

registerInfo('crossdomain', () => ({}));

export function crossDomainPolicy(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  ctx.op = 'CrossDomainPolicy';
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendSwiftStatus(res, 405, req.method === 'HEAD');
    return Promise.resolve();
  }
  res.writeHead(200, { 'Content-Type': 'application/xml; charset=utf-8', 'Content-Length': POLICY.length });
  res.end(req.method === 'HEAD' ? undefined : POLICY);
  return Promise.resolve();
}
