/**
 * Bucket configuration shared with the bucket API (`/v1_ext`): lifecycle (core.lifecycle's rules), CORS (core's
 * rules, the ones Swift's and S3's requests are answered by) and default encryption (the bucket's use_encryption:
 * SSE-S3, AES256, is the one kind there is). S3's XML both ways; core checks the rules.
 */
import { randomUUID } from 'node:crypto';
import type { CorsRule } from '../../core/cors.ts';
import type { LifecycleRule, LifecycleTag } from '../../core/model.ts';
import { isOnggiError } from '../../core/errors.ts';
import { readConfigBody } from './config-body.ts';
import { S3Error } from './errors.ts';
import { sendEmpty, sendXml, type Exchange } from './exchange.ts';
import { buildXml, type XmlNode } from './xml.ts';

const MALFORMED = 'The XML you provided was not well-formed or did not validate against our published schema';
const DAY_MS = 24 * 3600 * 1000;

// --- lifecycle ------------------------------------------------------------------------------------

export async function getBucketLifecycle(bucket: string, x: Exchange): Promise<void> {
  const rules = await x.ctx.core.lifecycle.get(x.caller, x.account, bucket);
  sendXml(x.res, 200, buildXml('LifecycleConfiguration', { Rule: rules.map(lifecycleRuleXml) }));
}

export async function putBucketLifecycle(bucket: string, x: Exchange): Promise<void> {
  const root = objectOf((await readConfigBody(x, { digestRequired: true, limit: 1024 * 1024 })).LifecycleConfiguration);
  const rules = arrayOf(root.Rule).map((rule) => lifecycleRuleOf(objectOf(rule)));
  if (rules.length === 0) throw new S3Error('MalformedXML', 400, MALFORMED);
  await x.ctx.core.lifecycle.put(x.caller, x.account, bucket, rules);
  sendEmpty(x.res, 200);
}

export async function deleteBucketLifecycle(bucket: string, x: Exchange): Promise<void> {
  // S3 answers 204 whether or not there was a configuration.
  await x.ctx.core.lifecycle.delete(x.caller, x.account, bucket).catch((err: unknown) => {
    if (!(isOnggiError(err) && err.code === 'NoSuchConfiguration')) throw err;
  });
  sendEmpty(x.res, 204);
}

function lifecycleRuleOf(rule: Record<string, unknown>): LifecycleRule {
  const unsupported = ['Transition', 'NoncurrentVersionTransition'].find((name) => rule[name] !== undefined);
  if (unsupported) throw new S3Error('NotImplemented', 501, `Lifecycle ${unsupported} is not supported: there is one storage class`);
  if (rule.Status !== 'Enabled' && rule.Status !== 'Disabled') throw new S3Error('MalformedXML', 400, MALFORMED);
  const { prefix, tags, sizes } = lifecycleFilterOf(rule);
  const made: LifecycleRule = { id: typeof rule.ID === 'string' && rule.ID !== '' ? rule.ID : randomUUID(), enabled: rule.Status === 'Enabled', prefix, ...sizes };
  if (tags.length > 0) made.tags = tags;
  if (rule.Expiration !== undefined) Object.assign(made, expirationOf(objectOf(rule.Expiration)));
  if (rule.NoncurrentVersionExpiration !== undefined) {
    const noncurrent = objectOf(rule.NoncurrentVersionExpiration);
    made.noncurrentVersionExpiration = { noncurrentDays: numberOf(noncurrent.NoncurrentDays) };
    if (noncurrent.NewerNoncurrentVersions !== undefined) made.noncurrentVersionExpiration.newerNoncurrentVersions = numberOf(noncurrent.NewerNoncurrentVersions);
  }
  if (rule.AbortIncompleteMultipartUpload !== undefined) {
    made.abortIncompleteMultipartUpload = { daysAfterInitiation: numberOf(objectOf(rule.AbortIncompleteMultipartUpload).DaysAfterInitiation) };
  }
  return made;
}

type SizeFilter = Pick<LifecycleRule, 'objectSizeGreaterThan' | 'objectSizeLessThan'>;

/**
 * `<Filter>` (exactly one of a Prefix, a Tag, an ObjectSizeGreaterThan, an ObjectSizeLessThan, or an And of them),
 * or the older `<Prefix>` of the rule itself.
 */
function lifecycleFilterOf(rule: Record<string, unknown>): { prefix: string; tags: LifecycleTag[]; sizes: SizeFilter } {
  if (rule.Filter === undefined) return { prefix: stringOf(rule.Prefix ?? ''), tags: [], sizes: {} };
  if (rule.Prefix !== undefined) throw new S3Error('MalformedXML', 400, MALFORMED);
  if (rule.Filter === '') return { prefix: '', tags: [], sizes: {} };
  const filter = objectOf(rule.Filter);
  const parts = [filter.Prefix, filter.Tag, filter.ObjectSizeGreaterThan, filter.ObjectSizeLessThan, filter.And].filter((part) => part !== undefined);
  if (parts.length > 1) throw new S3Error('MalformedXML', 400, MALFORMED);
  const scope = filter.And === undefined ? filter : objectOf(filter.And);
  const sizes: SizeFilter = {};
  if (scope.ObjectSizeGreaterThan !== undefined) sizes.objectSizeGreaterThan = numberOf(scope.ObjectSizeGreaterThan);
  if (scope.ObjectSizeLessThan !== undefined) sizes.objectSizeLessThan = numberOf(scope.ObjectSizeLessThan);
  return { prefix: stringOf(scope.Prefix ?? ''), tags: arrayOf(scope.Tag).map(tagOf), sizes };
}

/** Days, a Date, or ExpiredObjectDeleteMarker (which S3 takes with neither; `false` asks for nothing). */
function expirationOf(expiration: Record<string, unknown>): Pick<LifecycleRule, 'expiration' | 'expiredObjectDeleteMarker'> {
  const marker = expiration.ExpiredObjectDeleteMarker;
  if (marker !== undefined) {
    if ((marker !== 'true' && marker !== 'false') || expiration.Days !== undefined || expiration.Date !== undefined) throw new S3Error('MalformedXML', 400, MALFORMED);
    return marker === 'true' ? { expiredObjectDeleteMarker: true } : {};
  }
  if ((expiration.Days === undefined) === (expiration.Date === undefined)) throw new S3Error('MalformedXML', 400, MALFORMED);
  if (expiration.Days !== undefined) return { expiration: { days: numberOf(expiration.Days) } };
  const date = Date.parse(stringOf(expiration.Date));
  if (!Number.isFinite(date) || date % DAY_MS !== 0) throw new S3Error('InvalidArgument', 400, "'Date' must be at midnight GMT");
  return { expiration: { date } };
}

function lifecycleRuleXml(rule: LifecycleRule): XmlNode {
  const node: XmlNode = { ID: rule.id, Filter: lifecycleFilterXml(rule), Status: rule.enabled ? 'Enabled' : 'Disabled' };
  const { expiration, noncurrentVersionExpiration: noncurrent, abortIncompleteMultipartUpload: abort } = rule;
  if (expiration) node.Expiration = 'days' in expiration ? { Days: expiration.days } : { Date: new Date(expiration.date).toISOString() };
  if (rule.expiredObjectDeleteMarker) node.Expiration = { ExpiredObjectDeleteMarker: 'true' };
  if (noncurrent) {
    node.NoncurrentVersionExpiration = { NoncurrentDays: noncurrent.noncurrentDays, ...(noncurrent.newerNoncurrentVersions ? { NewerNoncurrentVersions: noncurrent.newerNoncurrentVersions } : {}) };
  }
  if (abort) node.AbortIncompleteMultipartUpload = { DaysAfterInitiation: abort.daysAfterInitiation };
  return node;
}

/** One condition as its own element, several under And (a prefix alone, even empty, as Prefix). */
function lifecycleFilterXml(rule: LifecycleRule): XmlNode {
  const conditions: XmlNode = {};
  if (rule.prefix !== '') conditions.Prefix = rule.prefix;
  if (rule.tags?.length) conditions.Tag = rule.tags.map((t) => ({ Key: t.key, Value: t.value }));
  if (rule.objectSizeGreaterThan !== undefined) conditions.ObjectSizeGreaterThan = rule.objectSizeGreaterThan;
  if (rule.objectSizeLessThan !== undefined) conditions.ObjectSizeLessThan = rule.objectSizeLessThan;
  const count = Object.keys(conditions).length + (rule.tags && rule.tags.length > 1 ? rule.tags.length - 1 : 0);
  if (count === 0) return { Prefix: '' };
  return count === 1 ? conditions : { And: conditions };
}

// --- CORS -----------------------------------------------------------------------------------------

export async function getBucketCors(bucket: string, x: Exchange): Promise<void> {
  const rules = await x.ctx.core.buckets.getCors(x.caller, x.account, bucket);
  sendXml(x.res, 200, buildXml('CORSConfiguration', { CORSRule: rules.map(corsRuleXml) }));
}

export async function putBucketCors(bucket: string, x: Exchange): Promise<void> {
  const root = objectOf((await readConfigBody(x)).CORSConfiguration);
  const rules = arrayOf(root.CORSRule).map((rule) => corsRuleOf(objectOf(rule)));
  if (rules.length === 0) throw new S3Error('MalformedXML', 400, MALFORMED);
  await x.ctx.core.buckets.setCors(x.caller, x.account, bucket, rules);
  sendEmpty(x.res, 200);
}

export async function deleteBucketCors(bucket: string, x: Exchange): Promise<void> {
  await x.ctx.core.buckets.setCors(x.caller, x.account, bucket, []);
  sendEmpty(x.res, 204);
}

function corsRuleOf(rule: Record<string, unknown>): CorsRule {
  const maxAge = rule.MaxAgeSeconds;
  return {
    allowedOrigins: arrayOf(rule.AllowedOrigin).map(stringOf),
    allowedMethods: arrayOf(rule.AllowedMethod).map(stringOf),
    allowedHeaders: arrayOf(rule.AllowedHeader).map(stringOf),
    exposeHeaders: arrayOf(rule.ExposeHeader).map(stringOf),
    maxAgeSeconds: maxAge === undefined ? null : numberOf(maxAge),
  };
}

function corsRuleXml(rule: CorsRule): XmlNode {
  return {
    AllowedHeader: rule.allowedHeaders,
    AllowedMethod: rule.allowedMethods,
    AllowedOrigin: rule.allowedOrigins,
    ExposeHeader: rule.exposeHeaders,
    ...(rule.maxAgeSeconds === null ? {} : { MaxAgeSeconds: rule.maxAgeSeconds }),
  };
}

// --- default encryption ---------------------------------------------------------------------------

export async function getBucketEncryption(bucket: string, x: Exchange): Promise<void> {
  const found = await x.ctx.core.buckets.get(x.caller, x.account, bucket, 'GetEncryptionConfiguration');
  if (found.encryption === null) {
    throw new S3Error('ServerSideEncryptionConfigurationNotFoundError', 404, 'The server side encryption configuration was not found');
  }
  const rule = { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false };
  sendXml(x.res, 200, buildXml('ServerSideEncryptionConfiguration', { Rule: rule }));
}

export async function putBucketEncryption(bucket: string, x: Exchange): Promise<void> {
  const root = objectOf((await readConfigBody(x)).ServerSideEncryptionConfiguration);
  const rules = arrayOf(root.Rule);
  if (rules.length !== 1) throw new S3Error('MalformedXML', 400, MALFORMED);
  const algorithm = objectOf(objectOf(rules[0]).ApplyServerSideEncryptionByDefault).SSEAlgorithm;
  if (algorithm !== 'AES256') {
    throw new S3Error('InvalidArgument', 400, `Server side encryption ${String(algorithm)} is not supported here: only AES256 (SSE-S3) is`, { ArgumentName: 'SSEAlgorithm' });
  }
  await x.ctx.core.buckets.setEncryption(x.caller, x.account, bucket, 'managed');
  sendEmpty(x.res, 200);
}

export async function deleteBucketEncryption(bucket: string, x: Exchange): Promise<void> {
  await x.ctx.core.buckets.setEncryption(x.caller, x.account, bucket, null);
  sendEmpty(x.res, 204);
}

// --- the parsed document's shapes -----------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function objectOf(value: unknown): Record<string, unknown> {
  if (!isObject(value)) throw new S3Error('MalformedXML', 400, MALFORMED);
  return value;
}

/** An element that may repeat: the parser gives one as a value, several as an array (none: an empty array). */
function arrayOf(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function stringOf(value: unknown): string {
  if (typeof value !== 'string') throw new S3Error('MalformedXML', 400, MALFORMED);
  return value;
}

function numberOf(value: unknown): number {
  const text = stringOf(value);
  if (!/^-?\d+$/.test(text)) throw new S3Error('MalformedXML', 400, MALFORMED);
  return Number(text);
}

function tagOf(value: unknown): LifecycleTag {
  const tag = objectOf(value);
  return { key: stringOf(tag.Key), value: stringOf(tag.Value ?? '') };
}

// --- access logging -------------------------------------------------------------------------------

export async function getBucketLogging(bucket: string, x: Exchange): Promise<void> {
  const config = await x.ctx.core.accessLog.getConfig(x.caller, x.account, bucket).catch((err: unknown) => {
    if (isOnggiError(err) && err.code === 'NoSuchConfiguration') return null;
    throw err;
  });
  const content: XmlNode = config ? { LoggingEnabled: { TargetBucket: config.targetBucket, TargetPrefix: config.targetPrefix } } : {};
  sendXml(x.res, 200, buildXml('BucketLoggingStatus', content));
}

/** `<BucketLoggingStatus><LoggingEnabled>` turns logging on (into a bucket of the same project); without it, off. */
export async function putBucketLogging(bucket: string, x: Exchange): Promise<void> {
  const root = (await readConfigBody(x)).BucketLoggingStatus;
  if (root === undefined) throw new S3Error('MalformedXML', 400, MALFORMED);
  const enabled = isObject(root) ? root.LoggingEnabled : undefined;
  if (enabled === undefined || enabled === '') {
    await x.ctx.core.accessLog.setConfig(x.caller, x.account, bucket, null).catch((err: unknown) => {
      if (!(isOnggiError(err) && err.code === 'NoSuchConfiguration')) throw err;
    });
  } else {
    const logging = objectOf(enabled);
    if (logging.TargetGrants !== undefined || logging.TargetObjectKeyFormat !== undefined) {
      throw new S3Error('NotImplemented', 501, 'TargetGrants and TargetObjectKeyFormat are not supported: log objects belong to the target bucket\'s owner');
    }
    await x.ctx.core.accessLog.setConfig(x.caller, x.account, bucket, { targetBucket: stringOf(logging.TargetBucket), targetPrefix: stringOf(logging.TargetPrefix ?? '') });
  }
  sendEmpty(x.res, 200);
}
