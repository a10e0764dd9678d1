/** Object Lock on core.objectLock: the bucket's configuration (`?object-lock`), a version's `?retention` and `?legal-hold`. */
import type { DefaultRetention, Retention } from '../../core/object-lock.ts';
import { readConfigBody } from './config-body.ts';
import { S3Error } from './errors.ts';
import { sendEmpty, sendXml, type Exchange } from './exchange.ts';
import { refOf } from './object-ops.ts';
import { bypassGovernanceOf, legalHoldOf, retainUntilOf, retentionModeOf } from './version-settings.ts';
import { buildXml, isoTime, type XmlNode } from './xml.ts';

const MALFORMED = 'The XML you provided was not well-formed or did not validate against our published schema';

export async function getObjectLockConfiguration(bucket: string, x: Exchange): Promise<void> {
  const config = await x.ctx.core.objectLock.getConfiguration(x.caller, x.account, bucket);
  const rule = config.defaultRetention;
  const content: XmlNode = { ObjectLockEnabled: 'Enabled' };
  if (rule) content.Rule = { DefaultRetention: { Mode: rule.mode, ...('days' in rule ? { Days: rule.days } : { Years: rule.years }) } };
  sendXml(x.res, 200, buildXml('ObjectLockConfiguration', content));
}

export async function putObjectLockConfiguration(bucket: string, x: Exchange): Promise<void> {
  const root = objectOf((await readConfigBody(x)).ObjectLockConfiguration);
  if (root.ObjectLockEnabled !== 'Enabled') throw new S3Error('MalformedXML', 400, MALFORMED);
  await x.ctx.core.objectLock.putConfiguration(x.caller, x.account, bucket, defaultRetentionOf(root.Rule));
  sendEmpty(x.res, 200);
}

/** `<Rule><DefaultRetention><Mode/><Days/> or <Years/></DefaultRetention></Rule>`, or no Rule: none. */
function defaultRetentionOf(rules: unknown): DefaultRetention | null {
  if (rules === undefined) return null;
  const [rule, ...more] = Array.isArray(rules) ? (rules as unknown[]) : [rules];
  if (more.length > 0) throw new S3Error('MalformedXML', 400, MALFORMED);
  const retention = objectOf(objectOf(rule).DefaultRetention);
  const mode = retentionModeOf(retention.Mode, 'MalformedXML');
  const { Days: days, Years: years } = retention;
  if ((days === undefined) === (years === undefined)) throw new S3Error('MalformedXML', 400, MALFORMED);
  return days !== undefined ? { mode, days: Number(days) } : { mode, years: Number(years) };
}

export async function getObjectRetention(bucket: string, key: string, x: Exchange): Promise<void> {
  const retention = await x.ctx.core.objectLock.getRetention(x.caller, refOf(x, bucket, key));
  sendXml(x.res, 200, buildXml('Retention', { Mode: retention.mode, RetainUntilDate: isoTime(retention.retainUntil) }));
}

export async function putObjectRetention(bucket: string, key: string, x: Exchange): Promise<void> {
  const retention = retentionOf((await readConfigBody(x)).Retention);
  const versionId = await x.ctx.core.objectLock.putRetention(x.caller, refOf(x, bucket, key), retention, { bypassGovernance: bypassGovernanceOf(x.req) });
  sendEmpty(x.res, 200, versionId === 'null' ? {} : { 'x-amz-version-id': versionId });
}

/** `<Retention><Mode/><RetainUntilDate/></Retention>`; an empty one removes the retention (governance, with the bypass). */
function retentionOf(value: unknown): Retention | null {
  if (value === '') return null;
  const root = objectOf(value);
  if (root.Mode === undefined && root.RetainUntilDate === undefined) return null;
  if (root.Mode === undefined || root.RetainUntilDate === undefined) throw new S3Error('MalformedXML', 400, MALFORMED);
  return { mode: retentionModeOf(root.Mode, 'MalformedXML'), retainUntil: retainUntilOf(root.RetainUntilDate, 'InvalidArgument') };
}

export async function getObjectLegalHold(bucket: string, key: string, x: Exchange): Promise<void> {
  const on = await x.ctx.core.objectLock.getLegalHold(x.caller, refOf(x, bucket, key));
  sendXml(x.res, 200, buildXml('LegalHold', { Status: on ? 'ON' : 'OFF' }));
}

export async function putObjectLegalHold(bucket: string, key: string, x: Exchange): Promise<void> {
  const on = legalHoldOf(objectOf((await readConfigBody(x)).LegalHold).Status, 'MalformedXML');
  const versionId = await x.ctx.core.objectLock.putLegalHold(x.caller, refOf(x, bucket, key), on);
  sendEmpty(x.res, 200, versionId === 'null' ? {} : { 'x-amz-version-id': versionId });
}

function objectOf(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new S3Error('MalformedXML', 400, MALFORMED);
  return value as Record<string, unknown>;
}
