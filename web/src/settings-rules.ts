/**
 * The bucket settings as the console edits them (text fields), checked as the API checks them (src/core/cors.ts,
 * lifecycle.ts, access-log.ts, object-lock.ts), so that what the server would refuse is named before anything is sent.
 */
import { MAX_RETENTION_DAYS, MAX_RETENTION_YEARS, type CorsRule, type DefaultRetention, type LifecycleRule, type Logging, type RetentionMode } from './api/buckets.ts';
import type { MessageKey } from './i18n.ts';

export const MAX_CORS_RULES = 10;
export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;
export const MAX_LIFECYCLE_RULES = 1000;
const MAX_RULE_ID = 255;
export const MAX_LOG_PREFIX = 256;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A problem with the field it is about (for aria-invalid) and its words. */
export interface Problem {
  field: string;
  message: MessageKey;
  params?: Record<string, string | number>;
}

export function splitList(text: string): string[] {
  return text.split(/[\s,]+/).filter((part) => part !== '');
}

const stars = (text: string): number => text.split('*').length - 1;

export interface CorsDraft {
  origins: string;
  methods: string[];
  headers: string;
  expose: string;
  maxAge: string;
}

export function corsDraft(rule?: CorsRule): CorsDraft {
  return {
    origins: rule?.allowed_origins.join('\n') ?? '',
    methods: rule?.allowed_methods ?? ['GET'],
    headers: rule?.allowed_headers.join(', ') ?? '',
    expose: rule?.expose_headers.join(', ') ?? '',
    maxAge: rule?.max_age_seconds == null ? '' : String(rule.max_age_seconds),
  };
}

export function corsProblem(draft: CorsDraft): Problem | null {
  const origins = splitList(draft.origins);
  if (origins.length === 0) return { field: 'origins', message: 'corsOriginRequired' };
  const badOrigin = origins.find((origin) => stars(origin) > 1);
  if (badOrigin !== undefined) return { field: 'origins', message: 'corsOriginStars', params: { value: badOrigin } };
  if (draft.methods.length === 0) return { field: 'methods', message: 'corsMethodRequired' };
  const badHeader = splitList(draft.headers).find((header) => stars(header) > 1 || !TOKEN.test(header));
  if (badHeader !== undefined) return { field: 'headers', message: 'corsHeaderInvalid', params: { value: badHeader } };
  const badExpose = splitList(draft.expose).find((header) => header.includes('*') || !TOKEN.test(header));
  if (badExpose !== undefined) return { field: 'expose', message: 'corsExposeInvalid', params: { value: badExpose } };
  if (draft.maxAge.trim() !== '' && !/^\d+$/.test(draft.maxAge.trim())) return { field: 'maxAge', message: 'corsMaxAgeInvalid' };
  return null;
}

export function corsRuleOf(draft: CorsDraft): CorsRule {
  return {
    allowed_origins: splitList(draft.origins),
    allowed_methods: CORS_METHODS.filter((method) => draft.methods.includes(method)),
    allowed_headers: splitList(draft.headers),
    expose_headers: splitList(draft.expose),
    max_age_seconds: draft.maxAge.trim() === '' ? null : Number(draft.maxAge.trim()),
  };
}

export interface LifecycleDraft {
  id: string;
  enabled: boolean;
  prefix: string;
  expire: 'days' | 'date' | 'none';
  days: string;
  /** YYYY-MM-DD, midnight UTC. */
  date: string;
  /** The rule as read: the fields the console does not edit (tags, sizes, delete markers, noncurrent versions, uploads) go back as they were. */
  original: LifecycleRule | null;
}

export function lifecycleDraft(rule: LifecycleRule | null, id = ''): LifecycleDraft {
  const expiration = rule?.expiration;
  return {
    id: rule?.id ?? id,
    enabled: rule ? rule.status === 'Enabled' : true,
    prefix: rule?.filter?.prefix ?? '',
    expire: expiration?.date !== undefined ? 'date' : expiration?.days !== undefined || !rule ? 'days' : 'none',
    days: expiration?.days === undefined ? (rule ? '' : '30') : String(expiration.days),
    date: expiration?.date?.slice(0, 10) ?? '',
    original: rule,
  };
}

/** What else the rule does (kept as read). */
function otherActions(draft: LifecycleDraft): boolean {
  const { original } = draft;
  return original?.noncurrent_version_expiration !== undefined || original?.abort_incomplete_multipart_upload !== undefined || original?.expiration?.expired_object_delete_marker === true;
}

export function lifecycleProblem(draft: LifecycleDraft, all: readonly LifecycleDraft[]): Problem | null {
  const id = draft.id.trim();
  if (id === '' || id.length > MAX_RULE_ID) return { field: 'id', message: 'lifecycleIdLength', params: { max: MAX_RULE_ID } };
  if (all.filter((other) => other.id.trim() === id).length > 1) return { field: 'id', message: 'lifecycleIdTaken' };
  if (draft.expire === 'days' && !(/^\d+$/.test(draft.days.trim()) && Number(draft.days) >= 1)) return { field: 'days', message: 'lifecycleDaysInvalid' };
  if (draft.expire === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(draft.date)) return { field: 'date', message: 'lifecycleDateInvalid' };
  if (draft.expire === 'none' && !otherActions(draft)) return { field: 'expire', message: 'lifecycleNeedsAction' };
  return null;
}

export function lifecycleRuleOf(draft: LifecycleDraft): LifecycleRule {
  const { original } = draft;
  const rule: LifecycleRule = {
    id: draft.id.trim(),
    status: draft.enabled ? 'Enabled' : 'Disabled',
    filter: { ...original?.filter, prefix: draft.prefix },
  };
  if (draft.expire === 'days') rule.expiration = { days: Number(draft.days.trim()) };
  if (draft.expire === 'date') rule.expiration = { date: `${draft.date}T00:00:00Z` };
  // Removing delete markers is not a choice beside days or a date; kept while the rule does not expire objects.
  if (draft.expire === 'none' && original?.expiration?.expired_object_delete_marker) rule.expiration = { expired_object_delete_marker: true };
  if (original?.noncurrent_version_expiration) rule.noncurrent_version_expiration = original.noncurrent_version_expiration;
  if (original?.abort_incomplete_multipart_upload) rule.abort_incomplete_multipart_upload = original.abort_incomplete_multipart_upload;
  return rule;
}

export function loggingProblem(logging: Logging | null): Problem | null {
  if (logging === null) return null;
  if (logging.target_bucket === '') return { field: 'target', message: 'loggingTargetRequired' };
  if (logging.target_prefix.length > MAX_LOG_PREFIX) return { field: 'prefix', message: 'loggingPrefixLength', params: { max: MAX_LOG_PREFIX } };
  return null;
}

/** Object Lock's default retention as edited: on or off, a mode, a whole number and its unit. */
export interface RetentionDraft {
  on: boolean;
  mode: RetentionMode;
  period: string;
  unit: 'days' | 'years';
}

export function retentionDraft(rule: DefaultRetention | null): RetentionDraft {
  if (!rule) return { on: false, mode: 'GOVERNANCE', period: '30', unit: 'days' };
  return 'days' in rule ? { on: true, mode: rule.mode, period: String(rule.days), unit: 'days' } : { on: true, mode: rule.mode, period: String(rule.years), unit: 'years' };
}

/** 1..36,500 days or 1..100 years, a whole number (core's checkDefaultRetention). */
export function retentionProblem(draft: RetentionDraft): Problem | null {
  if (!draft.on) return null;
  const max = draft.unit === 'days' ? MAX_RETENTION_DAYS : MAX_RETENTION_YEARS;
  const text = draft.period.trim();
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) return { field: 'period', message: draft.unit === 'days' ? 'lockDaysInvalid' : 'lockYearsInvalid', params: { max: max.toLocaleString('en') } };
  return null;
}

export function retentionOf(draft: RetentionDraft): DefaultRetention | null {
  if (!draft.on) return null;
  const count = Number(draft.period.trim());
  return draft.unit === 'days' ? { mode: draft.mode, days: count } : { mode: draft.mode, years: count };
}
