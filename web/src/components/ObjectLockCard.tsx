/**
 * The Settings tab's Object Lock card: whether the bucket's versions can be locked and the default retention new
 * ones get. A Storage Admin enables it (after a confirmation: it cannot be turned off, and versioning, turned on
 * here if need be, stays on) and sets or clears the default retention; anyone else sees it read-only.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { administers, getObjectLock, setObjectLock, type Bucket, type DefaultRetention, type ObjectLock, type RetentionMode } from '../api/buckets.ts';
import type { Versioning } from '../api/objects.ts';
import { useI18n, useSession } from '../context.ts';
import { useLoad } from '../hooks.ts';
import type { MessageKey, Translate } from '../i18n.ts';
import { retentionDraft, retentionOf, retentionProblem, type RetentionDraft } from '../settings-rules.ts';
import { LoadingCard, ProblemText, SaveRow, useSave } from './settings-forms.tsx';
import { Dialog, ErrorNote } from './ui.tsx';

/** The API's refusals of a lock, in plain words. */
const LOCK_CODES: Record<string, MessageKey> = {
  AccessDenied: 'lockReadOnly',
  InvalidBucketState: 'errLockNeedsVersioning',
  InvalidRetentionPeriod: 'errRetentionPeriod',
};

export function ObjectLockForm(props: { bucket: Bucket; onVersioningChanged: () => void }) {
  const { t } = useI18n();
  const name = props.bucket.name;
  const loaded = useLoad(() => getObjectLock(name), [name]);
  if (!loaded.data) return <LoadingCard title={t('lockTitle')} id="lock-title" error={loaded.error} retry={loaded.reload} codes={LOCK_CODES} />;
  return <ObjectLockEditor key={name} bucket={name} initial={loaded.data} admin={administers(props.bucket)} onVersioningChanged={props.onVersioningChanged} />;
}

function ObjectLockEditor(props: { bucket: string; initial: ObjectLock; admin: boolean; onVersioningChanged: () => void }) {
  const { t } = useI18n();
  const [lock, setLock] = useState(props.initial);
  const [asking, setAsking] = useState<Versioning | null>(null);
  const [checking, setChecking] = useState(false);
  const [checkError, setCheckError] = useState<unknown>(null);
  const [justEnabled, setJustEnabled] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const { objects } = useSession();

  // Enabled: the button that opened the dialog is gone, so the focus goes to the card (after the dialog's own return).
  useEffect(() => {
    if (!justEnabled) return;
    setTimeout(() => heading.current?.focus(), 0);
  }, [justEnabled]);

  /** Versioning as it is now (the Versioning card may have changed it), then the question. */
  const ask = async (): Promise<void> => {
    if (checking) return;
    setChecking(true);
    setCheckError(null);
    try {
      setAsking(await objects.versioning(props.bucket));
    } catch (err) {
      setCheckError(err);
    } finally {
      setChecking(false);
    }
  };

  const status = (
    <p data-object-lock={lock.enabled ? 'on' : 'off'}>
      <strong>{t(lock.enabled ? 'lockOn' : 'lockOff')}</strong>
    </p>
  );
  const title = (
    <h2 id="lock-title" ref={heading} tabIndex={-1}>
      {t('lockTitle')}
    </h2>
  );

  if (lock.enabled && props.admin) {
    return (
      <RetentionEditor bucket={props.bucket} initial={lock.default_retention} title={title} status={status} notice={justEnabled ? t('lockEnabledNotice') : null} onSaved={(saved) => {
        setLock(saved);
        setJustEnabled(false);
      }} />
    );
  }
  return (
    <section class="card form" aria-labelledby="lock-title" data-settings="object-lock" data-readonly={props.admin ? undefined : 'true'}>
      {title}
      {status}
      {lock.enabled && <p data-default-retention>{retentionText(t, lock.default_retention)}</p>}
      <p class="muted">{t('lockHelp')}</p>
      {!props.admin && <p class="hint">{t('lockReadOnly')}</p>}
      {props.admin && !lock.enabled && (
        <>
          <ErrorNote error={checkError} />
          <div class="buttons left">
            <button type="button" class="secondary" aria-busy={checking} onClick={() => void ask()}>
              {t('lockEnable')}
            </button>
          </div>
        </>
      )}
      {asking !== null && (
        <EnableDialog bucket={props.bucket} versioning={asking} onClose={(enabled) => {
          setAsking(null);
          // The Versioning card reads again: versioning may have been turned on, and Object Lock now keeps it on.
          if (enabled || asking !== 'enabled') props.onVersioningChanged();
          if (enabled) {
            setLock(enabled);
            setJustEnabled(true);
          }
        }} />
      )}
    </section>
  );
}

/** The confirmation: what cannot be undone, and versioning turned on first when it is not on. */
function EnableDialog(props: { bucket: string; versioning: Versioning; onClose: (enabled: ObjectLock | null) => void }) {
  const { t } = useI18n();
  const { objects } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const needsVersioning = props.versioning !== 'enabled';
  const confirm = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      if (needsVersioning) await objects.setVersioning(props.bucket, true);
      props.onClose(await setObjectLock(props.bucket, null));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const versioningText: MessageKey = props.versioning === 'enabled' ? 'lockConfirmVersioningOn' : props.versioning === 'suspended' ? 'lockConfirmVersioningSuspended' : 'lockConfirmVersioningOff';
  return (
    <Dialog title={t('lockConfirmTitle')} onClose={() => {
      props.onClose(null);
    }}>
      <div class="form" data-confirm-lock>
        <p class="warning">{t('lockConfirmText')}</p>
        <p data-versioning-needed={needsVersioning ? 'true' : 'false'}>{t(versioningText)}</p>
        <ErrorNote error={error} codes={LOCK_CODES} />
        <div class="buttons">
          <button type="button" class="secondary" autoFocus onClick={() => {
            props.onClose(null);
          }}>
            {t('cancel')}
          </button>
          <button type="button" class="danger" disabled={busy} onClick={() => void confirm()}>
            {t(needsVersioning ? 'lockConfirmWithVersioning' : 'lockConfirm')}
          </button>
        </div>
      </div>
    </Dialog>
  );
}

function RetentionEditor(props: {
  bucket: string;
  initial: DefaultRetention | null;
  title: ComponentChildren;
  status: ComponentChildren;
  notice: string | null;
  onSaved: (lock: ObjectLock) => void;
}) {
  const { t } = useI18n();
  const [draft, setDraft] = useState<RetentionDraft>(() => retentionDraft(props.initial));
  const save = useSave();
  const problem = retentionProblem(draft);
  const update = (change: Partial<RetentionDraft>): void => {
    setDraft({ ...draft, ...change });
    save.changed();
  };
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    await save.run(async () => {
      props.onSaved(await setObjectLock(props.bucket, retentionOf(draft)));
    });
  };
  const invalid = problem?.field === 'period';
  return (
    <form class="card form" aria-labelledby="lock-title" data-settings="object-lock" onSubmit={(event) => void submit(event)}>
      {props.title}
      {props.status}
      <div class="notice-slot" role="status">
        {props.notice && <p class="notice success" data-notice>{props.notice}</p>}
      </div>
      <label class="check">
        <input type="checkbox" checked={draft.on} onChange={(e) => {
          update({ on: e.currentTarget.checked });
        }} />
        {t('lockDefaultOn')}
      </label>
      <div class="field-pair lock-retention">
        <label>
          {t('lockMode')}
          <select value={draft.mode} disabled={!draft.on} onChange={(e) => {
            update({ mode: e.currentTarget.value as RetentionMode });
          }}>
            <option value="GOVERNANCE">{t('lockGovernance')}</option>
            <option value="COMPLIANCE">{t('lockCompliance')}</option>
          </select>
        </label>
        <label>
          {t('lockPeriod')}
          <input inputMode="numeric" value={draft.period} disabled={!draft.on} aria-invalid={invalid} aria-describedby="lock-problem" onInput={(e) => {
            update({ period: e.currentTarget.value });
          }} />
        </label>
        <label>
          {t('lockUnit')}
          <select value={draft.unit} disabled={!draft.on} onChange={(e) => {
            update({ unit: e.currentTarget.value === 'years' ? 'years' : 'days' });
          }}>
            <option value="days">{t('lockDays')}</option>
            <option value="years">{t('lockYears')}</option>
          </select>
        </label>
      </div>
      <p class="muted">{t(draft.mode === 'COMPLIANCE' ? 'lockComplianceHelp' : 'lockGovernanceHelp')}</p>
      <ProblemText id="lock-problem" problem={problem} />
      <SaveRow busy={save.busy} saved={save.saved} error={save.error} disabled={problem !== null} codes={LOCK_CODES} />
    </form>
  );
}

function retentionText(t: Translate, rule: DefaultRetention | null): string {
  if (!rule) return t('lockNoRetention');
  const period = 'days' in rule ? t(rule.days === 1 ? 'lockOneDay' : 'lockPeriodDays', { count: rule.days.toLocaleString('en') }) : t(rule.years === 1 ? 'lockOneYear' : 'lockPeriodYears', { count: rule.years.toLocaleString('en') });
  return t('lockRetention', { mode: t(rule.mode === 'COMPLIANCE' ? 'lockCompliance' : 'lockGovernance'), period });
}
