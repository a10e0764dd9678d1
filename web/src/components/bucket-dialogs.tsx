/** Create, delete and empty a bucket: each a dialog that says what will happen and why it cannot. */
import { useEffect, useState } from 'preact/hooks';
import { createBucket, deleteBucket, type Bucket } from '../api/buckets.ts';
import { ApiError } from '../api/http.ts';
import { useI18n, useSession } from '../context.ts';
import { formatCount } from '../format.ts';
import { runEach } from '../hooks.ts';
import { loadNamingRules, nameProblem, type NamingRules } from '../naming.ts';
import { Dialog, ErrorNote } from './ui.tsx';

export function CreateBucketDialog(props: { onClose: (changed: boolean, done?: string) => void }) {
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [encrypted, setEncrypted] = useState(true);
  const [rules, setRules] = useState<NamingRules | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    void loadNamingRules().then(setRules);
  }, []);
  const problem = rules ? nameProblem(name, rules) : null;

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await createBucket(name, encrypted);
      props.onClose(true, t('bucketCreated', { name }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Dialog title={t('createBucket')} onClose={() => {
      props.onClose(false);
    }}>
      <form class="form" onSubmit={(event) => void submit(event)}>
        <label>
          {t('bucketName')}
          <input
            name="bucketName"
            autoFocus
            autocomplete="off"
            spellcheck={false}
            value={name}
            aria-invalid={name !== '' && problem !== null}
            aria-describedby="bucket-name-rule"
            onInput={(e) => {
              setName(e.currentTarget.value);
            }}
          />
        </label>
        <p id="bucket-name-rule" class={name !== '' && problem ? 'hint invalid' : 'hint'}>
          {t(name !== '' && problem ? problem : 'nameRule', { min: rules?.minLength ?? 4, max: rules?.maxLength ?? 63 })}
        </p>
        <fieldset class="choice">
          <legend>{t('encryption')}</legend>
          <label>
            <input type="radio" name="encryption" checked={!encrypted} onChange={() => {
              setEncrypted(false);
            }} /> {t('encryptionOff')}
          </label>
          <label>
            <input type="radio" name="encryption" checked={encrypted} onChange={() => {
              setEncrypted(true);
            }} /> {t('encryptionOn')}
          </label>
        </fieldset>
        <ErrorNote error={error} explain={{ conflict: 'errBucketExists', invalid: 'errBucketName' }} />
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => {
            props.onClose(false);
          }}>
            {t('cancel')}
          </button>
          <button type="submit" disabled={busy || problem !== null}>
            {t('create')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function DeleteBucketDialog(props: { bucket: Bucket; onClose: (changed: boolean, done?: string) => void; onEmpty: () => void }) {
  const { t, lang } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const notEmpty = props.bucket.objectCount > 0 || (error instanceof ApiError && error.status === 409);

  const remove = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await deleteBucket(props.bucket.name);
      props.onClose(true, t('bucketDeleted', { name: props.bucket.name }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Dialog title={t('deleteBucket')} onClose={() => {
      props.onClose(false);
    }}>
      <div class="form">
        {notEmpty ? (
          <p class="warning" role="alert">
            {t('bucketNotEmpty', { name: props.bucket.name, count: formatCount(props.bucket.objectCount, lang) })}
          </p>
        ) : (
          <p>{t('confirmDeleteBucket', { name: props.bucket.name })}</p>
        )}
        {!notEmpty && <ErrorNote error={error} />}
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => {
            props.onClose(false);
          }}>
            {t('cancel')}
          </button>
          {notEmpty ? (
            <button type="button" onClick={props.onEmpty}>
              {t('emptyBucketEllipsis')}
            </button>
          ) : (
            <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
              {t('deleteBucket')}
            </button>
          )}
        </div>
      </div>
    </Dialog>
  );
}

/** Deletes every object of a bucket, after the user types the bucket's name. */
export function EmptyBucketDialog(props: { bucket: Bucket; onClose: (changed: boolean, done?: string) => void }) {
  const { t, lang } = useI18n();
  const { objects } = useSession();
  const [typed, setTyped] = useState('');
  const [deleted, setDeleted] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [abort] = useState(() => new AbortController());
  useEffect(() => () => {
    abort.abort();
  }, [abort]);

  const empty = async (event: Event): Promise<void> => {
    event.preventDefault();
    setDeleted(0);
    setError(null);
    let count = 0;
    try {
      await runEach(objects.allKeys(props.bucket.name, ''), 4, async (key) => {
        await objects.delete(props.bucket.name, key).catch((err: unknown) => {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
        });
        setDeleted(++count);
      }, abort.signal);
      props.onClose(true, t('bucketEmptied', { name: props.bucket.name, count: formatCount(count, lang) }));
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Dialog title={t('emptyBucket')} onClose={() => {
      props.onClose(deleted !== null);
    }}>
      <form class="form" onSubmit={(event) => void empty(event)}>
        <p class="warning">{t('confirmEmptyBucket', { name: props.bucket.name, count: formatCount(props.bucket.objectCount, lang) })}</p>
        <label>
          {t('typeBucketName', { name: props.bucket.name })}
          <input name="confirmName" autocomplete="off" spellcheck={false} value={typed} onInput={(e) => {
            setTyped(e.currentTarget.value);
          }} />
        </label>
        {deleted !== null && (
          <p role="status">
            {t('deletedCount', { count: formatCount(deleted, lang) })}
          </p>
        )}
        <ErrorNote error={error} />
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => {
            props.onClose(deleted !== null);
          }}>
            {t('cancel')}
          </button>
          <button type="submit" class="danger" disabled={typed !== props.bucket.name || (deleted !== null && error === null)}>
            {t('emptyBucket')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
