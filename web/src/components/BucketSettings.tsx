/** The Settings tab: public read access with its IP allow list, roles, CORS, lifecycle, access logging, versioning, Object Lock, encryption, the bucket's facts. */
import { useState } from 'preact/hooks';
import { isPublic, setAccess, type Bucket, type Grant } from '../api/buckets.ts';
import { parseAllowList } from '../cidr.ts';
import { useI18n } from '../context.ts';
import { formatBytes, formatCount, formatTime } from '../format.ts';
import type { MessageKey, Translate } from '../i18n.ts';
import { CorsForm, LifecycleForm, LoggingForm, RolesForm, VersioningForm } from './settings-forms.tsx';
import { ObjectLockForm } from './ObjectLockCard.tsx';
import { ErrorNote } from './ui.tsx';

/** The bucket API takes at most 100 entries (`public_read_allow_ip_list`). */
const MAX_ALLOW_LIST = 100;

export function BucketSettings(props: { bucket: Bucket; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const { bucket } = props;
  // Bumped when the Object Lock card changes versioning (it turns it on, then keeps it on): the Versioning card reads again.
  const [versioningRead, setVersioningRead] = useState(0);
  return (
    <div class="settings">
      <AccessForm bucket={bucket} onSaved={props.onChanged} />
      <LoggingForm bucket={bucket} />
      <div class="settings-stack">
        <VersioningForm key={versioningRead} bucket={bucket} />
        <ObjectLockForm bucket={bucket} onVersioningChanged={() => {
          setVersioningRead((n) => n + 1);
        }} />
        <section class="card" aria-labelledby="encryption-title">
          <h2 id="encryption-title">{t('encryption')}</h2>
          <p data-encryption={bucket.use_encryption ? 'on' : 'off'}>
            {bucket.use_encryption ? t('encryptionStatusOn', { type: bucket.encryption_configuration?.type ?? 'managed' }) : t('encryptionStatusOff')}
          </p>
          <p class="muted">{t('encryptionFixed')}</p>
        </section>
        <section class="card" aria-labelledby="facts-title">
          <h2 id="facts-title">{t('bucketFacts')}</h2>
          <dl class="facts">
            <dt>{t('type')}</dt>
            <dd>{bucket.type}</dd>
            <dt>{t('created')}</dt>
            <dd>{formatTime(Date.parse(bucket.createdAt), lang)}</dd>
            <dt>{t('objects')}</dt>
            <dd>{formatCount(bucket.objectCount, lang)}</dd>
            <dt>{t('size')}</dt>
            <dd>{formatBytes(bucket.bytes, lang)}</dd>
          </dl>
        </section>
      </div>
      <RolesForm bucket={bucket} />
      <CorsForm bucket={bucket} />
      <LifecycleForm bucket={bucket} />
    </div>
  );
}

function AccessForm(props: { bucket: Bucket; onSaved: () => void }) {
  const { t } = useI18n();
  const [publicRead, setPublicRead] = useState(isPublic(props.bucket));
  const [listText, setListText] = useState(props.bucket.acl.public_read_allow_ip_list.join('\n'));
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const { entries, invalid } = parseAllowList(listText);
  const tooLong = entries.length > MAX_ALLOW_LIST;
  const listProblem = invalid.length > 0 ? t('allowListInvalid', { entries: invalid.join(', ') }) : tooLong ? t('allowListTooLong', { max: MAX_ALLOW_LIST, count: entries.length }) : null;

  const save = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setSaved(false);
    setError(null);
    try {
      await setAccess(props.bucket.name, publicRead, entries);
      setSaved(true);
      props.onSaved();
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };

  return (
    <form class="card form" aria-labelledby="access-title" onSubmit={(event) => void save(event)}>
      <h2 id="access-title">{t('accessTitle')}</h2>
      <label class="check">
        <input type="checkbox" name="publicRead" checked={publicRead} onChange={(e) => {
          setPublicRead(e.currentTarget.checked);
          setSaved(false);
        }} />
        {t('publicReadOnly')}
      </label>
      <p class="muted">{t('publicReadHelp')}</p>
      <GrantList grants={props.bucket.acl.grants ?? []} />
      <label>
        {t('allowList')}
        <textarea
          name="allowList"
          rows={4}
          spellcheck={false}
          placeholder="203.0.113.0/24"
          value={listText}
          aria-invalid={listProblem !== null}
          aria-describedby="allow-list-help"
          onInput={(e) => {
            setListText(e.currentTarget.value);
            setSaved(false);
          }}
        />
      </label>
      <p id="allow-list-help" class={listProblem ? 'hint invalid' : 'hint'}>
        {listProblem ?? t('allowListHelp')}
      </p>
      <ErrorNote error={error} />
      {saved && <p role="status" class="ok">{t('saved')}</p>}
      <div class="buttons left">
        <button type="submit" disabled={busy || listProblem !== null}>
          {t('save')}
        </button>
      </div>
    </form>
  );
}

/** Who else may do what, beside the public flag and the roles: the effective access a Swift ACL gives. */
function GrantList(props: { grants: readonly Grant[] }) {
  const { t } = useI18n();
  if (props.grants.length === 0) return null;
  const byGrantee = new Map<string, { who: string; permissions: string[] }>();
  for (const grant of props.grants) {
    const who = granteeText(grant.grantee, t);
    const entry = byGrantee.get(who) ?? { who, permissions: [] };
    if (!(grant.grantee.kind === 'referrer' && grant.grantee.deny === true)) entry.permissions.push(t(`permission_${grant.permission.replace(/-/g, '_')}` as MessageKey));
    byGrantee.set(who, entry);
  }
  return (
    <section aria-labelledby="grants-title">
      <h3 id="grants-title">{t('grantsTitle')}</h3>
      <ul class="grants">
        {[...byGrantee.values()].map((entry) => (
          <li key={entry.who}>
            {entry.who}
            {entry.permissions.length > 0 && `: ${entry.permissions.join(', ')}`}
          </li>
        ))}
      </ul>
      <p class="muted">{t('grantsHelp')}</p>
    </section>
  );
}

function granteeText(grantee: Grant['grantee'], t: Translate): string {
  switch (grantee.kind) {
    case 'anyone':
      return t('grantAnyone');
    case 'authenticated':
      return t('grantAuthenticated');
    case 'project':
      return t('grantProject', { project: grantee.projectId });
    case 'user':
      return grantee.projectId === undefined ? t('grantUserAnyProject', { user: grantee.userId }) : t('grantUser', { user: grantee.userId, project: grantee.projectId });
    case 'referrer':
      if (grantee.host === '*' && grantee.deny !== true) return t('grantAnyone');
      return t(grantee.deny === true ? 'grantReferrerDenied' : 'grantReferrer', { host: grantee.host });
  }
}
