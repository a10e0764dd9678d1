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
  const { prefix, tags } = lifecycleFilterOf(rule);
  const made: LifecycleRule = { id: typeof rule.ID === 'string' && rule.ID !== '' ? rule.ID : randomUUID(), enabled: rule.Status === 'Enabled', prefix };
  if (tags.length > 0) made.tags = tags;
  if (rule.Expiration !== undefined) made.expiration = expirationOf(objectOf(rule.Expiration));
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

/** `<Filter>` (a Prefix, a Tag, or an And of them), or the older `<Prefix>` of the rule itself. */
function lifecycleFilterOf(rule: Record<string, unknown>): { prefix: string; tags: LifecycleTag[] } {
  if (rule.Filter === undefined) return { prefix: stringOf(rule.Prefix ?? ''), tags: [] };
  if (rule.Prefix !== undefined) throw new S3Error('MalformedXML', 400, MALFORMED);
  if (rule.Filter === '') return { prefix: '', tags: [] };
  const filter = objectOf(rule.Filter);
  const size = ['ObjectSizeGreaterThan', 'ObjectSizeLessThan'].find((name) => filter[name] !== undefined || (isObject(filter.And) && filter.And[name] !== undefined));
  if (size) throw new S3Error('NotImplemented', 501, `Lifecycle filters by ${size} are not supported`);
  const parts = [filter.Prefix, filter.Tag, filter.And].filter((part) => part !== undefined);
  if (parts.length > 1) throw new S3Error('MalformedXML', 400, MALFORMED);
  const scope = filter.And === undefined ? filter : objectOf(filter.And);
  return { prefix: stringOf(scope.Prefix ?? ''), tags: arrayOf(scope.Tag).map(tagOf) };
}

function expirationOf(expiration: Record<string, unknown>): NonNullable<LifecycleRule['expiration']> {
  if (expiration.ExpiredObjectDeleteMarker !== undefined) throw new S3Error('NotImplemented', 501, 'ExpiredObjectDeleteMarker is not supported');
  if ((expiration.Days === undefined) === (expiration.Date === undefined)) throw new S3Error('MalformedXML', 400, MALFORMED);
  if (expiration.Days !== undefined) return { days: numberOf(expiration.Days) };
  const date = Date.parse(stringOf(expiration.Date));
  if (!Number.isFinite(date) || date % DAY_MS !== 0) throw new S3Error('InvalidArgument', 400, "'Date' must be at midnight GMT");
  return { date };
}

function lifecycleRuleXml(rule: LifecycleRule): XmlNode {
  const tags = (rule.tags ?? []).map((t) => ({ Key: t.key, Value: t.value }));
  let filter: XmlNode;
  if (tags.length === 0) filter = { Prefix: rule.prefix };
  else if (tags.length === 1 && rule.prefix === '') filter = { Tag: tags };
  else filter = { And: { Prefix: rule.prefix, Tag: tags } };
  const node: XmlNode = { ID: rule.id, Filter: filter, Status: rule.enabled ? 'Enabled' : 'Disabled' };
  const { expiration, noncurrentVersionExpiration: noncurrent, abortIncompleteMultipartUpload: abort } = rule;
  if (expiration) node.Expiration = 'days' in expiration ? { Days: expiration.days } : { Date: new Date(expiration.date).toISOString() };
  if (noncurrent) {
    node.NoncurrentVersionExpiration = { NoncurrentDays: noncurrent.noncurrentDays, ...(noncurrent.newerNoncurrentVersions ? { NewerNoncurrentVersions: noncurrent.newerNoncurrentVersions } : {}) };
  }
  if (abort) node.AbortIncompleteMultipartUpload = { DaysAfterInitiation: abort.daysAfterInitiation };
  return node;
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
  const found = await x.ctx.core.buckets.get(x.caller, x.account, bucket, 'GetBucketConfig');
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
