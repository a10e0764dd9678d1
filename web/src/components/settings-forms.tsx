/** The Settings tab's forms for CORS, lifecycle, access logging and bucket roles: each reads, checks and saves one /v1_ext resource. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import {
  assignRole,
  BUCKET_ROLES,
  getCors,
  getLifecycle,
  getLogging,
  getObjectLock,
  listBuckets,
  listPermissions,
  removeRole,
  setCors,
  setLifecycle,
  setLogging,
  type Bucket,
  type BucketRole,
  type Logging,
  type Permission,
} from '../api/buckets.ts';
import type { Versioning } from '../api/objects.ts';
import { useI18n, useSession } from '../context.ts';
import { useLoad } from '../hooks.ts';
import type { MessageKey } from '../i18n.ts';
import {
  CORS_METHODS,
  corsDraft,
  corsProblem,
  corsRuleOf,
  lifecycleDraft,
  lifecycleProblem,
  lifecycleRuleOf,
  loggingProblem,
  MAX_CORS_RULES,
  MAX_LIFECYCLE_RULES,
  type CorsDraft,
  type LifecycleDraft,
  type Problem,
} from '../settings-rules.ts';
import { ErrorNote } from './ui.tsx';

/** Server refusals of settings, in plain words (the API's codes). */
const SETTINGS_CODES: Record<string, MessageKey> = {
  AccessDenied: 'errSettingsForbidden',
  NoSuchUser: 'errNoSuchMember',
  InvalidBucketState: 'errLastAdmin',
  NoSuchBucket: 'errNoSuchTarget',
};

/** A card with a save button: its own busy, saved and error states. */
export function useSave(): { busy: boolean; saved: boolean; error: unknown; run: (task: () => Promise<void>) => Promise<boolean>; changed: () => void } {
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (task: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setSaved(false);
    setError(null);
    try {
      await task();
      setSaved(true);
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, saved, error, run, changed: () => {
    setSaved(false);
  } };
}

export function ProblemText(props: { id: string; problem: Problem | null }) {
  const { t } = useI18n();
  if (!props.problem) return null;
  return (
    <p id={props.id} class="hint invalid" data-problem={props.problem.field}>
      {t(props.problem.message, props.problem.params)}
    </p>
  );
}

export function SaveRow(props: { busy: boolean; saved: boolean; error: unknown; disabled: boolean; codes?: Record<string, MessageKey>; children?: ComponentChildren }) {
  const { t } = useI18n();
  return (
    <>
      <ErrorNote error={props.error} codes={props.codes ?? SETTINGS_CODES} />
      {props.saved && <p role="status" class="ok">{t('saved')}</p>}
      <div class="buttons left">
        <button type="submit" disabled={props.busy || props.disabled}>
          {t('save')}
        </button>
        {props.children}
      </div>
    </>
  );
}

// --- CORS ---------------------------------------------------------------------------------------

export function CorsForm(props: { bucket: Bucket }) {
  const { t } = useI18n();
  const name = props.bucket.name;
  const loaded = useLoad(() => getCors(name), [name]);
  if (!loaded.data) return <LoadingCard title={t('corsTitle')} id="cors-title" error={loaded.error} retry={loaded.reload} />;
  return <CorsEditor key={name} bucket={name} initial={loaded.data.map(corsDraft)} />;
}

function CorsEditor(props: { bucket: string; initial: CorsDraft[] }) {
  const { t } = useI18n();
  const [rules, setRules] = useState(props.initial);
  const save = useSave();
  const problems = rules.map(corsProblem);
  const update = (index: number, change: Partial<CorsDraft>): void => {
    setRules(rules.map((rule, i) => (i === index ? { ...rule, ...change } : rule)));
    save.changed();
  };
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    await save.run(() => setCors(props.bucket, rules.map(corsRuleOf)));
  };
  return (
    <form class="card form settings-wide" aria-labelledby="cors-title" data-settings="cors" onSubmit={(event) => void submit(event)}>
      <h2 id="cors-title">{t('corsTitle')}</h2>
      <p class="muted">{t('corsHelp')}</p>
      {rules.length === 0 && <p class="muted">{t('corsNone')}</p>}
      {rules.map((rule, i) => {
        const problem = problems[i] ?? null;
        const hintId = `cors-${i}-problem`;
        const invalid = (field: string): boolean => problem?.field === field;
        return (
          <fieldset key={i} class="rule" data-rule={i}>
            <legend>{t('ruleNumber', { n: i + 1 })}</legend>
            <label>
              {t('corsOrigins')}
              <textarea rows={2} spellcheck={false} placeholder="https://example.com" value={rule.origins} aria-invalid={invalid('origins')} aria-describedby={hintId} onInput={(e) => {
                update(i, { origins: e.currentTarget.value });
              }} />
            </label>
            <fieldset class="inline-choice" aria-invalid={invalid('methods')}>
              <legend>{t('corsMethods')}</legend>
              {CORS_METHODS.map((method) => (
                <label key={method} class="check">
                  <input type="checkbox" checked={rule.methods.includes(method)} onChange={(e) => {
                    update(i, { methods: e.currentTarget.checked ? [...rule.methods, method] : rule.methods.filter((m) => m !== method) });
                  }} />
                  {method}
                </label>
              ))}
            </fieldset>
            <div class="field-pair">
              <label>
                {t('corsHeaders')}
                <input spellcheck={false} placeholder="*" value={rule.headers} aria-invalid={invalid('headers')} aria-describedby={hintId} onInput={(e) => {
                  update(i, { headers: e.currentTarget.value });
                }} />
              </label>
              <label>
                {t('corsExpose')}
                <input spellcheck={false} placeholder="ETag" value={rule.expose} aria-invalid={invalid('expose')} aria-describedby={hintId} onInput={(e) => {
                  update(i, { expose: e.currentTarget.value });
                }} />
              </label>
            </div>
            <label class="short">
              {t('corsMaxAge')}
              <input inputMode="numeric" value={rule.maxAge} aria-invalid={invalid('maxAge')} aria-describedby={hintId} onInput={(e) => {
                update(i, { maxAge: e.currentTarget.value });
              }} />
            </label>
            <ProblemText id={hintId} problem={problem} />
            <div class="buttons left">
              <button type="button" class="secondary small" onClick={() => {
                setRules(rules.filter((_, j) => j !== i));
                save.changed();
              }}>
                {t('removeRule', { n: i + 1 })}
              </button>
            </div>
          </fieldset>
        );
      })}
      <SaveRow busy={save.busy} saved={save.saved} error={save.error} disabled={problems.some((p) => p !== null)}>
        <button type="button" class="secondary" disabled={rules.length >= MAX_CORS_RULES} onClick={() => {
          setRules([...rules, corsDraft()]);
          save.changed();
        }}>
          {t('addRule')}
        </button>
      </SaveRow>
      {rules.length >= MAX_CORS_RULES && <p class="hint">{t('corsMaxRules', { max: MAX_CORS_RULES })}</p>}
    </form>
  );
}

// --- lifecycle ----------------------------------------------------------------------------------

export function LifecycleForm(props: { bucket: Bucket }) {
  const { t } = useI18n();
  const name = props.bucket.name;
  const loaded = useLoad(() => getLifecycle(name), [name]);
  if (!loaded.data) return <LoadingCard title={t('lifecycleTitle')} id="lifecycle-title" error={loaded.error} retry={loaded.reload} />;
  return <LifecycleEditor key={name} bucket={name} initial={loaded.data.map((rule) => lifecycleDraft(rule))} />;
}

function LifecycleEditor(props: { bucket: string; initial: LifecycleDraft[] }) {
  const { t } = useI18n();
  const [rules, setRules] = useState(props.initial);
  const save = useSave();
  const problems = rules.map((rule) => lifecycleProblem(rule, rules));
  const update = (index: number, change: Partial<LifecycleDraft>): void => {
    setRules(rules.map((rule, i) => (i === index ? { ...rule, ...change } : rule)));
    save.changed();
  };
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    await save.run(() => setLifecycle(props.bucket, rules.map(lifecycleRuleOf)));
  };
  const freeId = (): string => {
    for (let n = rules.length + 1; ; n += 1) if (!rules.some((rule) => rule.id === `rule-${n}`)) return `rule-${n}`;
  };
  return (
    <form class="card form settings-wide" aria-labelledby="lifecycle-title" data-settings="lifecycle" onSubmit={(event) => void submit(event)}>
      <h2 id="lifecycle-title">{t('lifecycleTitle')}</h2>
      <p class="muted">{t('lifecycleHelp')}</p>
      {rules.length === 0 && <p class="muted">{t('lifecycleNone')}</p>}
      {rules.map((rule, i) => {
        const problem = problems[i] ?? null;
        const hintId = `lifecycle-${i}-problem`;
        const invalid = (field: string): boolean => problem?.field === field;
        const kept = [
          rule.original?.filter?.tags?.length ? t('lifecycleKeptTags') : null,
          rule.original?.noncurrent_version_expiration ? t('lifecycleKeptNoncurrent', { days: rule.original.noncurrent_version_expiration.noncurrent_days }) : null,
          rule.original?.abort_incomplete_multipart_upload ? t('lifecycleKeptAbort', { days: rule.original.abort_incomplete_multipart_upload.days_after_initiation }) : null,
        ].filter((text) => text !== null);
        return (
          <fieldset key={i} class="rule" data-rule={i}>
            <legend>{t('ruleNumber', { n: i + 1 })}</legend>
            <div class="field-pair">
              <label>
                {t('lifecycleId')}
                <input spellcheck={false} value={rule.id} aria-invalid={invalid('id')} aria-describedby={hintId} onInput={(e) => {
                  update(i, { id: e.currentTarget.value });
                }} />
              </label>
              <label>
                {t('lifecyclePrefix')}
                <input spellcheck={false} placeholder={t('lifecycleWholeBucket')} value={rule.prefix} onInput={(e) => {
                  update(i, { prefix: e.currentTarget.value });
                }} />
              </label>
            </div>
            <label class="check">
              <input type="checkbox" checked={rule.enabled} onChange={(e) => {
                update(i, { enabled: e.currentTarget.checked });
              }} />
              {t('lifecycleEnabled')}
            </label>
            <fieldset class="choice" aria-invalid={invalid('expire')}>
              <legend>{t('lifecycleExpire')}</legend>
              <label>
                <input type="radio" name={`expire-${i}`} aria-label={t('lifecycleByDays')} checked={rule.expire === 'days'} onChange={() => {
                  update(i, { expire: 'days', days: rule.days || '30' });
                }} />
                <span>{t('lifecycleAfterDays')}</span>
                <input class="days" inputMode="numeric" aria-label={t('lifecycleDays')} value={rule.days} disabled={rule.expire !== 'days'} aria-invalid={invalid('days')} aria-describedby={hintId} onInput={(e) => {
                  update(i, { days: e.currentTarget.value });
                }} />
                <span>{t('lifecycleDaysUnit')}</span>
              </label>
              <label>
                <input type="radio" name={`expire-${i}`} aria-label={t('lifecycleByDate')} checked={rule.expire === 'date'} onChange={() => {
                  update(i, { expire: 'date' });
                }} />
                <span>{t('lifecycleOnDate')}</span>
                <input type="date" aria-label={t('lifecycleDate')} value={rule.date} disabled={rule.expire !== 'date'} aria-invalid={invalid('date')} aria-describedby={hintId} onInput={(e) => {
                  update(i, { date: e.currentTarget.value });
                }} />
              </label>
              <label>
                <input type="radio" name={`expire-${i}`} checked={rule.expire === 'none'} onChange={() => {
                  update(i, { expire: 'none' });
                }} />
                <span>{t('lifecycleNoExpiry')}</span>
              </label>
            </fieldset>
            {kept.length > 0 && <p class="hint">{t('lifecycleKept', { list: kept.join(', ') })}</p>}
            <ProblemText id={hintId} problem={problem} />
            <div class="buttons left">
              <button type="button" class="secondary small" onClick={() => {
                setRules(rules.filter((_, j) => j !== i));
                save.changed();
              }}>
                {t('removeRule', { n: i + 1 })}
              </button>
            </div>
          </fieldset>
        );
      })}
      <SaveRow busy={save.busy} saved={save.saved} error={save.error} disabled={problems.some((p) => p !== null)}>
        <button type="button" class="secondary" disabled={rules.length >= MAX_LIFECYCLE_RULES} onClick={() => {
          setRules([...rules, lifecycleDraft(null, freeId())]);
          save.changed();
        }}>
          {t('addRule')}
        </button>
      </SaveRow>
    </form>
  );
}

// --- access logging -----------------------------------------------------------------------------

export function LoggingForm(props: { bucket: Bucket }) {
  const { t } = useI18n();
  const name = props.bucket.name;
  const loaded = useLoad(() => getLogging(name), [name]);
  if (loaded.loading || loaded.error) return <LoadingCard title={t('loggingTitle')} id="logging-title" error={loaded.error} retry={loaded.reload} />;
  return <LoggingEditor key={name} bucket={name} initial={loaded.data} />;
}

function LoggingEditor(props: { bucket: string; initial: Logging | null }) {
  const { t } = useI18n();
  const buckets = useLoad(listBuckets, []);
  const [on, setOn] = useState(props.initial !== null);
  const [target, setTarget] = useState(props.initial?.target_bucket ?? '');
  const [prefix, setPrefix] = useState(props.initial?.target_prefix ?? `logs/${props.bucket}/`);
  const save = useSave();
  const logging = on ? { target_bucket: target, target_prefix: prefix } : null;
  const problem = loggingProblem(logging);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    await save.run(() => setLogging(props.bucket, logging));
  };
  const names = (buckets.data ?? []).map((bucket) => bucket.name);
  if (target !== '' && !names.includes(target)) names.unshift(target);
  return (
    <form class="card form" aria-labelledby="logging-title" data-settings="logging" onSubmit={(event) => void submit(event)}>
      <h2 id="logging-title">{t('loggingTitle')}</h2>
      <label class="check">
        <input type="checkbox" checked={on} onChange={(e) => {
          setOn(e.currentTarget.checked);
          save.changed();
        }} />
        {t('loggingOn')}
      </label>
      <p class="muted">{t('loggingHelp')}</p>
      <label>
        {t('loggingTarget')}
        <select value={target} disabled={!on} aria-invalid={on && problem?.field === 'target'} onChange={(e) => {
          setTarget(e.currentTarget.value);
          save.changed();
        }}>
          <option value="">{t('chooseBucket')}</option>
          {names.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('loggingPrefix')}
        <input spellcheck={false} value={prefix} disabled={!on} aria-invalid={on && problem?.field === 'prefix'} onInput={(e) => {
          setPrefix(e.currentTarget.value);
          save.changed();
        }} />
      </label>
      <ProblemText id="logging-problem" problem={problem} />
      <SaveRow busy={save.busy} saved={save.saved} error={save.error} disabled={problem !== null} />
    </form>
  );
}

// --- versioning ---------------------------------------------------------------------------------

export function VersioningForm(props: { bucket: Bucket }) {
  const { t } = useI18n();
  const { objects } = useSession();
  const name = props.bucket.name;
  // Object Lock keeps versioning on: the card says so rather than offer what the server refuses.
  const loaded = useLoad(() => Promise.all([objects.versioning(name), getObjectLock(name).then((lock) => lock.enabled)]), [name]);
  if (loaded.loading || loaded.error || !loaded.data) return <LoadingCard title={t('versioningTitle')} id="versioning-title" error={loaded.error} retry={loaded.reload} />;
  return <VersioningEditor key={name} bucket={name} initial={loaded.data[0]} locked={loaded.data[1]} />;
}

function VersioningEditor(props: { bucket: string; initial: Versioning; locked: boolean }) {
  const { t } = useI18n();
  const { objects } = useSession();
  const [state, setState] = useState(props.initial);
  const [on, setOn] = useState(props.initial === 'enabled');
  const save = useSave();
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (await save.run(() => objects.setVersioning(props.bucket, on))) setState(on ? 'enabled' : state === 'off' ? 'off' : 'suspended');
  };
  const status: MessageKey = state === 'enabled' ? 'versioningEnabled' : state === 'suspended' ? 'versioningSuspended' : 'versioningOff';
  return (
    <form class="card form" aria-labelledby="versioning-title" data-settings="versioning" onSubmit={(event) => void submit(event)}>
      <h2 id="versioning-title">{t('versioningTitle')}</h2>
      <p data-versioning={state}>{t(status)}</p>
      <label class="check">
        <input type="checkbox" name="versioning" checked={on} disabled={props.locked} aria-describedby={props.locked ? 'versioning-locked' : undefined} onChange={(e) => {
          setOn(e.currentTarget.checked);
          save.changed();
        }} />
        {t('versioningOn')}
      </label>
      {props.locked && <p id="versioning-locked" class="hint" data-versioning-locked>{t('versioningLocked')}</p>}
      <p class="muted">{t('versioningHelp')}</p>
      <SaveRow busy={save.busy} saved={save.saved} error={save.error} disabled={on === (state === 'enabled')} />
    </form>
  );
}

// --- bucket roles -------------------------------------------------------------------------------

export function RolesForm(props: { bucket: Bucket }) {
  const { t } = useI18n();
  const name = props.bucket.name;
  const loaded = useLoad(() => listPermissions(name), [name]);
  const [userId, setUserId] = useState('');
  const [role, setRole] = useState<BucketRole>('Storage Viewer');
  const [problem, setProblem] = useState<MessageKey | null>(null);
  const save = useSave();
  const members = loaded.data ?? [];

  /** The API keeps one Storage Admin at least: say so before asking. */
  const leavesNoAdmin = (userIdChanged: string, next: BucketRole | null): boolean =>
    !members.some((member) => (member.user_id === userIdChanged ? next : member.role) === 'Storage Admin');

  const change = async (member: Permission, next: BucketRole | null): Promise<void> => {
    setProblem(null);
    if (leavesNoAdmin(member.user_id, next)) {
      setProblem('errLastAdmin');
      loaded.reload();
      return;
    }
    await save.run(() => (next === null ? removeRole(name, member.user_id) : assignRole(name, member.user_id, next).then(() => undefined)));
    loaded.reload();
  };

  const add = async (event: Event): Promise<void> => {
    event.preventDefault();
    setProblem(null);
    const id = userId.trim();
    if (id === '') {
      setProblem('roleUserRequired');
      return;
    }
    if (await save.run(() => assignRole(name, id, role).then(() => undefined))) setUserId('');
    loaded.reload();
  };

  return (
    <section class="card form settings-wide" aria-labelledby="roles-title" data-settings="roles">
      <h2 id="roles-title">{t('rolesTitle')}</h2>
      <p class="muted">{t('rolesHelp')}</p>
      <ErrorNote error={loaded.error} codes={SETTINGS_CODES} />
      <table class="list roles" aria-busy={loaded.loading}>
        <thead>
          <tr>
            <th>{t('member')}</th>
            <th>{t('bucketRole')}</th>
            <th class="actions"><span class="sr-only">{t('actions')}</span></th>
          </tr>
        </thead>
        <tbody>
          {members.map((member) => (
            <tr key={member.user_id} data-member={member.user_id}>
              <td>
                <strong>{member.user_name || member.user_id}</strong>
                <span class="muted mono member-id">{member.user_id}</span>
              </td>
              <td>
                <select aria-label={t('roleOf', { name: member.user_name || member.user_id })} value={member.role} disabled={save.busy} onChange={(e) => {
                  void change(member, e.currentTarget.value as BucketRole);
                }}>
                  {BUCKET_ROLES.map((r) => (
                    <option key={r} value={r}>
                      {roleName(t, r)}
                    </option>
                  ))}
                </select>
                <span class="muted role-from">{member.from === 'project' ? t('roleFromProject') : t('roleFromBucket')}</span>
              </td>
              <td class="actions">
                <button type="button" class="danger small" disabled={save.busy} aria-label={t('removeRoleOf', { name: member.user_name || member.user_id })} onClick={() => void change(member, null)}>
                  {t('removeRoleShort')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="add-member" onSubmit={(event) => void add(event)}>
        <label>
          {t('memberUserId')}
          <input name="userId" spellcheck={false} autocomplete="off" value={userId} aria-invalid={problem === 'roleUserRequired'} onInput={(e) => {
            setUserId(e.currentTarget.value);
            setProblem(null);
            save.changed();
          }} />
        </label>
        <label>
          {t('bucketRole')}
          <select value={role} onChange={(e) => {
            setRole(e.currentTarget.value as BucketRole);
          }}>
            {BUCKET_ROLES.map((r) => (
              <option key={r} value={r}>
                {roleName(t, r)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={save.busy}>
          {t('assignRole')}
        </button>
      </form>
      {problem && (
        <p class="hint invalid" role="alert">
          {t(problem)}
        </p>
      )}
      <ErrorNote error={save.error} codes={SETTINGS_CODES} />
      {save.saved && <p role="status" class="ok">{t('saved')}</p>}
    </section>
  );
}

function roleName(t: (key: MessageKey) => string, role: BucketRole): string {
  return t(role === 'Storage Admin' ? 'roleAdmin' : role === 'Storage Editor' ? 'roleEditor' : 'roleViewer');
}

export function LoadingCard(props: { title: string; id: string; error: unknown; retry: () => void; codes?: Record<string, MessageKey> }) {
  const { t } = useI18n();
  return (
    <section class="card" aria-labelledby={props.id} aria-busy={props.error === null}>
      <h2 id={props.id}>{props.title}</h2>
      {props.error === null ? (
        <p class="muted">{t('loading')}</p>
      ) : (
        <ErrorNote error={props.error} codes={props.codes ?? SETTINGS_CODES}>
          <button type="button" class="secondary small retry" onClick={props.retry}>
            {t('retry')}
          </button>
        </ErrorNote>
      )}
    </section>
  );
}
