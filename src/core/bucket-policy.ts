/**
 * S3's bucket policy documents (AWS's access policy language, as S3 takes it for a bucket) read into the statements
 * `authorize()` evaluates. What a document says that this server cannot enforce as AWS would is refused
 * (MalformedPolicy), never dropped.
 *
 * Principals: `"*"` or `{"AWS": "*"}` is everyone, signed in or not. An Onggi project is S3's account, so
 * `arn:aws:iam::<project id>:root` and a bare `<project id>` name every user acting in that project;
 * `arn:aws:iam::<project id>:user/<user id>` and `<project id>:<user id>` (S3 ACLs' canonical id here) name that
 * user, who must hold a role in that project, whichever project their credentials are for. `{"CanonicalUser": …}`
 * takes the same ids. Ids are checked against the directory by the caller of `parseBucketPolicy`.
 *
 * Actions: AWS's IAM action names (case-insensitive, with `*` and `?`), translated once, in `IAM_ACTIONS`, into
 * core's actions. Actions of operations this server does not serve (website, replication, …) are accepted and,
 * as those operations do not exist here, change nothing.
 */
import { checkAllowList, type BucketAction } from './authz.ts';
import { MAX_BUCKET_POLICY_BYTES } from './constraints.ts';
import { fail, isOnggiError } from './errors.ts';
import type { PolicyStatement } from './model.ts';

type Level = 'bucket' | 'object';

/** Each S3 IAM action: what it applies to, and the core actions it allows or denies. */
const IAM_ACTIONS: Record<string, readonly [Level, readonly BucketAction[]]> = {
  // S3's ListBucket covers ListObjects (v1 and v2) and HeadBucket.
  ListBucket: ['bucket', ['ListObjects', 'HeadBucket']],
  ListBucketVersions: ['bucket', ['ListObjectVersions']],
  ListBucketMultipartUploads: ['bucket', ['ListMultipartUploads']],
  GetBucketLocation: ['bucket', ['GetBucketLocation']],
  GetBucketVersioning: ['bucket', ['GetBucketVersioning']],
  PutBucketVersioning: ['bucket', ['PutBucketVersioning']],
  GetBucketCORS: ['bucket', ['GetBucketCORS']],
  PutBucketCORS: ['bucket', ['PutBucketCORS']],
  GetLifecycleConfiguration: ['bucket', ['GetLifecycleConfiguration']],
  PutLifecycleConfiguration: ['bucket', ['PutLifecycleConfiguration']],
  GetEncryptionConfiguration: ['bucket', ['GetEncryptionConfiguration']],
  PutEncryptionConfiguration: ['bucket', ['PutEncryptionConfiguration']],
  GetBucketLogging: ['bucket', ['GetBucketLogging']],
  PutBucketLogging: ['bucket', ['PutBucketLogging']],
  GetBucketAcl: ['bucket', ['GetBucketAcl']],
  PutBucketAcl: ['bucket', ['PutBucketAcl']],
  GetBucketPolicy: ['bucket', ['GetBucketPolicy']],
  PutBucketPolicy: ['bucket', ['PutBucketPolicy']],
  DeleteBucketPolicy: ['bucket', ['DeleteBucketPolicy']],
  GetBucketPolicyStatus: ['bucket', ['GetBucketPolicyStatus']],
  GetBucketTagging: ['bucket', ['GetBucketTagging']],
  PutBucketTagging: ['bucket', ['PutBucketTagging']],
  GetBucketObjectLockConfiguration: ['bucket', ['GetBucketObjectLockConfiguration']],
  PutBucketObjectLockConfiguration: ['bucket', ['PutBucketObjectLockConfiguration']],
  DeleteBucket: ['bucket', ['DeleteBucket']],
  // GetObject covers HeadObject and GetObjectAttributes' read; PutObject covers CopyObject's destination, POST
  // uploads and every step of a multipart upload but its abort.
  GetObject: ['object', ['GetObject']],
  GetObjectVersion: ['object', ['GetObjectVersion']],
  GetObjectAttributes: ['object', ['GetObjectAttributes']],
  PutObject: ['object', ['PutObject']],
  DeleteObject: ['object', ['DeleteObject']],
  DeleteObjectVersion: ['object', ['DeleteObjectVersion']],
  AbortMultipartUpload: ['object', ['AbortMultipartUpload']],
  ListMultipartUploadParts: ['object', ['ListMultipartUploadParts']],
  GetObjectAcl: ['object', ['GetObjectAcl']],
  PutObjectAcl: ['object', ['PutObjectAcl']],
  GetObjectTagging: ['object', ['GetObjectTagging']],
  PutObjectTagging: ['object', ['PutObjectTagging']],
  DeleteObjectTagging: ['object', ['DeleteObjectTagging']],
  GetObjectRetention: ['object', ['GetObjectRetention']],
  PutObjectRetention: ['object', ['PutObjectRetention']],
  GetObjectLegalHold: ['object', ['GetObjectLegalHold']],
  PutObjectLegalHold: ['object', ['PutObjectLegalHold']],
  BypassGovernanceRetention: ['object', ['BypassGovernanceRetention']],
  // Core does not tell a version's ACL, tags or attributes from the current one's: these cover both.
  GetObjectVersionAttributes: ['object', ['GetObjectAttributes']],
  GetObjectVersionAcl: ['object', ['GetObjectAcl']],
  PutObjectVersionAcl: ['object', ['PutObjectAcl']],
  GetObjectVersionTagging: ['object', ['GetObjectTagging']],
  PutObjectVersionTagging: ['object', ['PutObjectTagging']],
  DeleteObjectVersionTagging: ['object', ['DeleteObjectTagging']],
};

/** S3 actions of operations this server does not serve (they answer 501, or are not bucket operations): no effect here. */
const UNSERVED_BUCKET_ACTIONS = [
  'CreateBucket', 'ListAllMyBuckets', 'GetBucketWebsite', 'PutBucketWebsite', 'DeleteBucketWebsite', 'GetBucketNotification', 'PutBucketNotification',
  'GetReplicationConfiguration', 'PutReplicationConfiguration', 'GetBucketRequestPayment', 'PutBucketRequestPayment', 'GetAccelerateConfiguration',
  'PutAccelerateConfiguration', 'GetAnalyticsConfiguration', 'PutAnalyticsConfiguration', 'GetInventoryConfiguration', 'PutInventoryConfiguration',
  'GetMetricsConfiguration', 'PutMetricsConfiguration', 'GetIntelligentTieringConfiguration', 'PutIntelligentTieringConfiguration',
  'GetBucketOwnershipControls', 'PutBucketOwnershipControls', 'GetBucketPublicAccessBlock', 'PutBucketPublicAccessBlock', 'ListBucketByTags',
];
const UNSERVED_OBJECT_ACTIONS = ['GetObjectTorrent', 'GetObjectVersionTorrent', 'RestoreObject', 'ReplicateObject', 'ReplicateDelete', 'ReplicateTags', 'GetObjectVersionForReplication', 'ObjectOwnerOverrideToBucketOwner'];

interface KnownAction {
  name: string;
  level: Level;
  actions: readonly BucketAction[];
}

const KNOWN_ACTIONS: ReadonlyMap<string, KnownAction> = new Map([
  ...Object.entries(IAM_ACTIONS).map(([name, [level, actions]]): [string, KnownAction] => [name.toLowerCase(), { name, level, actions }]),
  ...UNSERVED_BUCKET_ACTIONS.map((name): [string, KnownAction] => [name.toLowerCase(), { name, level: 'bucket', actions: [] }]),
  ...UNSERVED_OBJECT_ACTIONS.map((name): [string, KnownAction] => [name.toLowerCase(), { name, level: 'object', actions: [] }]),
]);

const VERSIONS = ['2012-10-17', '2008-10-17'];
const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const S3_ARN = 'arn:aws:s3:::';

/** A project or user a policy names, for the caller to check against the directory. */
export type PolicyPrincipal = { kind: 'project'; projectId: string } | { kind: 'user'; userId: string; projectId: string };

export interface ParsedPolicy {
  statements: PolicyStatement[];
  principals: PolicyPrincipal[];
}

/** Reads a bucket policy document for bucket `bucket`; throws MalformedPolicy with what is wrong. */
export function parseBucketPolicy(text: string, bucket: string): ParsedPolicy {
  if (Buffer.byteLength(text, 'utf8') > MAX_BUCKET_POLICY_BYTES) malformed(`Policy exceeds the maximum allowed document size of ${MAX_BUCKET_POLICY_BYTES} bytes`);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    malformed('This policy contains invalid Json');
  }
  const root = objectOf(document, 'Policy');
  for (const field of Object.keys(root)) if (!['Version', 'Id', 'Statement'].includes(field)) malformed(`Policy has an invalid field: ${field}`);
  if (root.Version !== undefined && !VERSIONS.includes(root.Version as string)) malformed(`Policy has an invalid Version: ${JSON.stringify(root.Version)} (2012-10-17 or 2008-10-17)`);
  if (root.Id !== undefined && typeof root.Id !== 'string') malformed('Policy Id must be a string');
  if (root.Statement === undefined) malformed('Missing required field Statement');
  const raw = Array.isArray(root.Statement) ? (root.Statement as unknown[]) : [root.Statement];
  if (raw.length === 0) malformed('Missing required field Statement');
  const principals: PolicyPrincipal[] = [];
  const sids = new Set<string>();
  const statements = raw.map((value) => {
    const statement = objectOf(value, 'Statement');
    if (typeof statement.Sid === 'string') {
      if (sids.has(statement.Sid)) malformed(`Statement IDs (SID) must be unique: ${statement.Sid}`);
      sids.add(statement.Sid);
    }
    return statementOf(statement, bucket, principals);
  });
  return { statements, principals };
}

function statementOf(raw: Record<string, unknown>, bucket: string, principals: PolicyPrincipal[]): PolicyStatement {
  for (const field of Object.keys(raw)) if (!STATEMENT_FIELDS.has(field)) malformed(`Statement has an invalid field: ${field}`);
  if (raw.Sid !== undefined && typeof raw.Sid !== 'string') malformed('Statement Sid must be a string');
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') malformed(`Invalid effect: ${JSON.stringify(raw.Effect ?? null)} (Allow or Deny)`);
  const principal = oneOf(raw, 'Principal', 'NotPrincipal');
  const action = oneOf(raw, 'Action', 'NotAction');
  const resource = oneOf(raw, 'Resource', 'NotResource');
  const resources = resourcesOf(resource.value, bucket);
  const actions = actionsOf(action.value);
  if (!action.negated && !resource.negated) checkActionsApply(actions.levels, resources);
  const made: PolicyStatement = { effect: raw.Effect, principal: principalOf(principal.value, principals), actions: actions.names, keys: resources.keys };
  if (resources.bucket) made.bucket = true;
  if (principal.negated || action.negated || resource.negated) {
    made.except = { ...(principal.negated ? { principal: true } : {}), ...(action.negated ? { actions: true } : {}), ...(resource.negated ? { resources: true } : {}) };
  }
  if (raw.Condition !== undefined) {
    const conditions = conditionsOf(raw.Condition);
    if (Object.keys(conditions).length > 0) made.conditions = conditions;
  }
  return made;
}

/** `Field` or `NotField`, exactly one of them. */
function oneOf(raw: Record<string, unknown>, field: string, notField: string): { value: unknown; negated: boolean } {
  if (raw[field] !== undefined && raw[notField] !== undefined) malformed(`Statement cannot have both ${field} and ${notField}`);
  if (raw[field] !== undefined) return { value: raw[field], negated: false };
  if (raw[notField] !== undefined) return { value: raw[notField], negated: true };
  return malformed(`Missing required field ${field}`);
}

// --- principals -------------------------------------------------------------------------------------

function principalOf(value: unknown, found: PolicyPrincipal[]): PolicyStatement['principal'] {
  if (value === '*') return '*';
  const principal = objectOf(value, 'Principal');
  const projects: string[] = [];
  const users: string[] = [];
  let everyone = false;
  for (const [type, ids] of Object.entries(principal)) {
    if (type !== 'AWS' && type !== 'CanonicalUser') malformed(`Invalid principal in policy: ${type} principals are not supported (AWS or CanonicalUser)`);
    for (const id of stringsOf(ids, 'Principal')) {
      if (id === '*' && type === 'AWS') {
        everyone = true;
        continue;
      }
      const named = type === 'AWS' ? awsPrincipal(id) : canonicalPrincipal(id);
      found.push(named);
      if (named.kind === 'project') projects.push(named.projectId);
      else users.push(named.userId);
    }
  }
  if (everyone) return '*';
  if (projects.length === 0 && users.length === 0) malformed('Invalid principal in policy: it names nobody');
  return { ...(projects.length > 0 ? { projects: [...new Set(projects)] } : {}), ...(users.length > 0 ? { users: [...new Set(users)] } : {}) };
}

/** `arn:aws:iam::<project>:root`, `arn:aws:iam::<project>:user/<user>`, or a bare id as a canonical one. */
function awsPrincipal(id: string): PolicyPrincipal {
  const arn = /^arn:aws:iam::([^:/]+):(root|user\/([^:/]+))$/.exec(id);
  if (arn) {
    const [, projectId = '', , userId] = arn;
    return userId === undefined ? { kind: 'project', projectId } : { kind: 'user', userId, projectId };
  }
  if (id.startsWith('arn:')) malformed(`Invalid principal in policy: ${id} (arn:aws:iam::<project id>:root or arn:aws:iam::<project id>:user/<user id>)`);
  return canonicalPrincipal(id);
}

function canonicalPrincipal(id: string): PolicyPrincipal {
  const match = /^([^:*\s]+)(?::([^:*\s]+))?$/.exec(id);
  if (!match) return malformed(`Invalid principal in policy: ${id}`);
  const [, projectId = '', userId] = match;
  return userId === undefined ? { kind: 'project', projectId } : { kind: 'user', userId, projectId };
}

// --- actions ----------------------------------------------------------------------------------------

/** Core's actions for the statement, as `s3:<action>` (`s3:*` kept whole: every action, Onggi's own too). */
function actionsOf(value: unknown): { names: string[]; levels: Set<Level> | null } {
  const names = new Set<string>();
  const levels = new Set<Level>();
  let wildcard = false;
  for (const pattern of stringsOf(value, 'Action')) {
    const colon = pattern.indexOf(':');
    if (colon < 0 || pattern.slice(0, colon).toLowerCase() !== 's3') malformed(`Policy has invalid action: ${pattern} (bucket policies take s3: actions)`);
    const name = pattern.slice(colon + 1);
    if (name === '*') {
      names.add('s3:*');
      wildcard = true;
      continue;
    }
    const known = name.includes('*') || name.includes('?') ? expand(name) : [KNOWN_ACTIONS.get(name.toLowerCase())].filter((entry) => entry !== undefined);
    if (known.length === 0) malformed(`Policy has invalid action: ${pattern}`);
    if (name.includes('*') || name.includes('?')) wildcard = true;
    for (const entry of known) {
      levels.add(entry.level);
      for (const action of entry.actions) names.add(`s3:${action}`);
    }
  }
  // Only actions of operations not served here: the statement applies to nothing, as on AWS it would to nothing here.
  return { names: [...names], levels: wildcard ? null : levels };
}

function expand(pattern: string): KnownAction[] {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return [...KNOWN_ACTIONS.values()].filter((entry) => regex.test(entry.name));
}

/** AWS refuses a statement naming an action that applies to none of its resources (s3:GetObject on the bucket alone). */
function checkActionsApply(levels: Set<Level> | null, resources: { bucket: boolean; keys: string[] }): void {
  if (levels === null) return;
  if ((levels.has('object') && resources.keys.length === 0) || (levels.has('bucket') && !resources.bucket)) {
    malformed('Action does not apply to any resource(s) in statement');
  }
}

// --- resources --------------------------------------------------------------------------------------

/** `arn:aws:s3:::bucket` (the bucket itself) and `arn:aws:s3:::bucket/<key pattern>`; another bucket's are invalid. */
function resourcesOf(value: unknown, bucket: string): { bucket: boolean; keys: string[] } {
  let onBucket = false;
  const keys: string[] = [];
  for (const resource of stringsOf(value, 'Resource')) {
    if (!resource.startsWith(S3_ARN)) malformed(`Policy has invalid resource: ${resource}`);
    const rest = resource.slice(S3_ARN.length);
    const slash = rest.indexOf('/');
    const name = slash < 0 ? rest : rest.slice(0, slash);
    if (name !== bucket) {
      malformed(name.includes('*') || name.includes('?') ? `Policy has invalid resource: ${resource} (name the bucket itself: wildcards in the bucket name are not supported)` : `Policy has invalid resource: ${resource}`);
    }
    if (rest.includes('${')) malformed(`Policy has invalid resource: ${resource} (policy variables are not supported)`);
    if (slash < 0) onBucket = true;
    else keys.push(rest.slice(slash + 1));
  }
  return { bucket: onBucket, keys: [...new Set(keys)] };
}

// --- conditions -------------------------------------------------------------------------------------

const CONDITION_KEYS: Record<string, readonly string[]> = {
  IpAddress: ['aws:sourceip'],
  NotIpAddress: ['aws:sourceip'],
  StringLike: ['aws:referer'],
  StringEquals: ['aws:referer'],
  Bool: ['aws:securetransport'],
};

function conditionsOf(value: unknown): NonNullable<PolicyStatement['conditions']> {
  const made: NonNullable<PolicyStatement['conditions']> = {};
  for (const [operator, block] of Object.entries(objectOf(value, 'Condition'))) {
    const keys = CONDITION_KEYS[operator];
    if (!keys) malformed(`Invalid Condition type: ${operator} (supported: ${Object.keys(CONDITION_KEYS).join(', ')})`);
    for (const [key, raw] of Object.entries(objectOf(block, `Condition ${operator}`))) {
      const lower = key.toLowerCase();
      if (!keys.includes(lower)) malformed(`Policy has an invalid condition key: ${key} for ${operator} (supported: ${keys.join(', ')})`);
      const values = stringsOf(typeof raw === 'boolean' ? String(raw) : raw, `Condition ${operator} ${key}`);
      if (values.some((v) => v.includes('${'))) malformed(`Policy has an invalid condition value in ${operator} ${key}: policy variables are not supported`);
      addCondition(made, operator, values);
    }
  }
  return made;
}

function addCondition(made: NonNullable<PolicyStatement['conditions']>, operator: string, values: string[]): void {
  switch (operator) {
    case 'IpAddress':
    case 'NotIpAddress':
      try {
        checkAllowList(values);
      } catch (err) {
        if (isOnggiError(err)) malformed(`Invalid IP address or CIDR block in ${operator}: ${err.message}`);
        throw err;
      }
      made[operator === 'IpAddress' ? 'sourceIp' : 'notSourceIp'] = values;
      return;
    case 'StringLike':
      made.referer = values;
      return;
    case 'StringEquals':
      made.refererEquals = values;
      return;
    case 'Bool': {
      const [only, ...others] = values.map((v) => v.toLowerCase());
      if (others.length > 0 || (only !== 'true' && only !== 'false')) malformed('Bool aws:SecureTransport takes one value: true or false');
      made.secureTransport = only === 'true';
    }
  }
}

// --- status -----------------------------------------------------------------------------------------

/**
 * S3's IsPublic: a statement allows everyone (Principal `*`, or a NotPrincipal) without limiting them to a set of
 * addresses (an IpAddress condition on aws:SourceIp that is not the whole address space). A Referer or
 * SecureTransport condition does not make a policy private: anyone can send either.
 */
export function policyIsPublic(statements: readonly PolicyStatement[]): boolean {
  return statements.some((s) => s.effect === 'Allow' && (s.principal === '*' || s.except?.principal === true) && !limitedToAddresses(s));
}

function limitedToAddresses(statement: PolicyStatement): boolean {
  const ranges = statement.conditions?.sourceIp;
  return ranges !== undefined && !ranges.some((range) => /\/0$/.test(range.trim()));
}

// --- shapes -----------------------------------------------------------------------------------------

function malformed(message: string): never {
  fail('MalformedPolicy', message);
}

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) malformed(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** A string or a non-empty array of strings. */
function stringsOf(value: unknown, what: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')) return value;
  return malformed(`${what} must be a string or a list of strings`);
}
