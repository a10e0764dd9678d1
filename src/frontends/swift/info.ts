/**
 * GET /info: the cluster's capabilities, as Swift's /info middleware reports them. Each Swift feature module
 * registers its own section when it is loaded, so /info names exactly what this server does; every limit comes
 * from the constraints module.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BUCKET_TYPES,
  LISTING_LIMIT,
  MAX_FILE_SIZE,
  MAX_HEADER_SIZE,
  MAX_META_COUNT,
  MAX_META_NAME_LENGTH,
  MAX_META_OVERALL_SIZE,
  MAX_META_VALUE_LENGTH,
} from '../../core/constraints.ts';
import type { RequestContext } from '../../http/context.ts';
import { sendJson } from '../../http/respond.ts';
import { sendSwiftStatus } from './errors.ts';

/** One section of /info, made per request (some depend on the server's settings, such as the naming profile). */
export type InfoSection = (ctx: RequestContext) => Record<string, unknown>;

const sections = new Map<string, InfoSection>();

/** Adds a feature's section to /info (Swift's `register_swift_info`); a name is registered once. */
export function registerInfo(name: string, section: InfoSection): void {
  if (sections.has(name)) throw new Error(`/info section ${name} is registered twice`);
  sections.set(name, section);
}

registerInfo('swift', (ctx) => {
  const { naming } = ctx.core.buckets;
  return {
    version: 'onggi',
    max_file_size: MAX_FILE_SIZE,
    max_meta_name_length: MAX_META_NAME_LENGTH,
    max_meta_value_length: MAX_META_VALUE_LENGTH,
    max_meta_count: MAX_META_COUNT,
    max_meta_overall_size: MAX_META_OVERALL_SIZE,
    max_header_size: MAX_HEADER_SIZE,
    max_object_name_length: naming.maxObjectKeyBytes,
    container_listing_limit: LISTING_LIMIT,
    account_listing_limit: LISTING_LIMIT,
    max_container_name_length: naming.maxBucketNameLength,
    strict_cors_mode: true,
    policies: [...BUCKET_TYPES].map((name, i) => ({ name, default: i === 0 })),
  };
});

// Onggi's own section: the bucket name rules in force, which the web console checks as the user types.
registerInfo('onggi', (ctx) => {
  const { naming } = ctx.core.buckets;
  return {
    bucket_naming: {
      profile: naming.name,
      pattern: naming.bucketNameRules.pattern,
      min_length: naming.bucketNameRules.minLength,
      max_length: naming.bucketNameRules.maxLength,
      reserved: naming.bucketNameRules.reserved,
    },
  };
});

export async function swiftInfo(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  ctx.op = 'Info';
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendSwiftStatus(res, 405, req.method === 'HEAD');
    return;
  }
  const body: Record<string, unknown> = {};
  for (const [name, section] of sections) body[name] = section(ctx);
  sendJson(res, 200, body);
}
