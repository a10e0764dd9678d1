/** Create a folder; delete, copy or move the selected objects and folders (a folder with all it holds). */
import { useEffect, useState } from 'preact/hooks';
import { listBuckets } from '../api/buckets.ts';
import type { Entry, ObjectApi } from '../api/objects.ts';
import { useI18n, useSession } from '../context.ts';
import { baseName, formatCount } from '../format.ts';
import { runEach, useLoad } from '../hooks.ts';
import type { MessageKey, Translate } from '../i18n.ts';
import type { PickedFile } from '../uploads.ts';
import { Dialog, ErrorNote, MetaRows, metaOf, metaRowProblem, type MetaRow } from './ui.tsx';

const MAX_KEY_BYTES = 432;
/** Folder contents are counted up to this many objects before a delete. */
const COUNT_LIMIT = 10_000;

/** Saves downloaded bytes under a file name, through a temporary link. */
export function saveBlob(blob: Blob, name: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => {
    URL.revokeObjectURL(link.href);
  }, 60_000);
}

function folderNameProblem(name: string, folder: string): MessageKey | null {
  if (name === '') return 'folderNameRequired';
  if (name.includes('/')) return 'folderNameSlash';
  if (name === '.' || name === '..') return 'folderNameDots';
  if (new TextEncoder().encode(`${folder}${name}/`).length > MAX_KEY_BYTES) return 'keyTooLong';
  return null;
}

export function CreateFolderDialog(props: { bucket: string; folder: string; onClose: (changed: boolean, done?: string) => void }) {
  const { t } = useI18n();
  const { objects } = useSession();
  const [name, setName] = useState('');
  const [rows, setRows] = useState<MetaRow[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const problem = folderNameProblem(name, props.folder) ?? metaRowProblem(rows);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await objects.createFolder(props.bucket, `${props.folder}${name}/`, metaOf(rows));
      props.onClose(true, t('folderCreated', { name: `${name}/` }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Dialog title={t('createFolder')} onClose={() => {
      props.onClose(false);
    }}>
      <form class="form" onSubmit={(event) => void submit(event)}>
        <p class="muted">{t('createFolderIn', { folder: `/${props.folder}` })}</p>
        <label>
          {t('folderName')}
          <input name="folderName" autoFocus autocomplete="off" value={name} aria-invalid={name !== '' && problem !== null} onInput={(e) => {
            setName(e.currentTarget.value);
          }} />
        </label>
        <MetaRows rows={rows} onChange={setRows} />
        {name !== '' && problem && <p class="hint invalid">{t(problem)}</p>}
        <ErrorNote error={error} />
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

/** Uploading over names that are taken: replace them, upload only the new ones, or nothing. */
export function OverwriteDialog(props: { folder: string; files: PickedFile[]; existing: string[]; onChoose: (files: PickedFile[]) => void }) {
  const { t } = useI18n();
  const taken = new Set(props.existing);
  const fresh = props.files.filter((picked) => !taken.has(props.folder + picked.path));
  return (
    <Dialog title={t('replaceTitle')} onClose={() => {
      props.onChoose([]);
    }}>
      <div class="form">
        <p class="warning" role="alert">
          {t('replaceUpload', { count: props.existing.length, folder: `/${props.folder}` })}
        </p>
        <ul class="entry-names">
          {props.existing.slice(0, 5).map((key) => (
            <li key={key}>{key.slice(props.folder.length)}</li>
          ))}
          {props.existing.length > 5 && <li>…</li>}
        </ul>
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => {
            props.onChoose([]);
          }}>
            {t('cancel')}
          </button>
          {fresh.length > 0 && (
            <button type="button" class="secondary" onClick={() => {
              props.onChoose(fresh);
            }}>
              {t('skipExisting', { count: fresh.length })}
            </button>
          )}
          <button type="button" class="danger" onClick={() => {
            props.onChoose(props.files);
          }}>
            {t('replaceAll')}
          </button>
        </div>
      </div>
    </Dialog>
  );
}

/** Every key an entry stands for: an object's own key, or everything under a folder. */
async function* keysOf(objects: ObjectApi, bucket: string, entries: readonly Entry[]): AsyncGenerator<string> {
  for (const entry of entries) {
    if (entry.kind === 'object') yield entry.key;
    else yield* objects.allKeys(bucket, entry.key);
  }
}

function useBulkRun(): { done: number | null; error: unknown; run: (task: (count: () => void, signal: AbortSignal) => Promise<void>) => Promise<boolean> } {
  const [done, setDone] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [abort] = useState(() => new AbortController());
  useEffect(() => () => {
    abort.abort();
  }, [abort]);
  const run = async (task: (count: () => void, signal: AbortSignal) => Promise<void>): Promise<boolean> => {
    let n = 0;
    setDone(0);
    setError(null);
    try {
      await task(() => {
        setDone(++n);
      }, abort.signal);
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  return { done, error, run };
}

export function DeleteObjectsDialog(props: { bucket: string; entries: Entry[]; onClose: (changed: boolean, done?: string) => void }) {
  const { t, lang } = useI18n();
  const { objects } = useSession();
  const bulk = useBulkRun();
  const folders = props.entries.filter((entry) => entry.kind === 'folder').length;
  /** How many objects the chosen folders hold (counted up to a limit), so that the question says what goes. */
  const [inFolders, setInFolders] = useState<number | null>(null);
  useEffect(() => {
    let live = true;
    void (async () => {
      let n = 0;
      for (const entry of props.entries) {
        if (entry.kind !== 'folder') continue;
        for await (const key of objects.allKeys(props.bucket, entry.key)) {
          if (key !== entry.key) n += 1;
          if (!live || n > COUNT_LIMIT) break;
        }
      }
      if (live) setInFolders(n);
    })().catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);

  const remove = async (): Promise<void> => {
    const ok = await bulk.run((count, signal) =>
      runEach(keysOf(objects, props.bucket, props.entries), 4, async (key) => {
        await objects.delete(props.bucket, key);
        count();
      }, signal),
    );
    if (ok) props.onClose(true, doneText(t, 'deleted', props.entries, ''));
  };

  return (
    <Dialog title={t('deleteObjects')} onClose={() => {
      props.onClose(bulk.done !== null);
    }}>
      <div class="form">
        <p>{props.entries.length === 1 && props.entries[0] ? t('confirmDeleteOne', { name: baseName(props.entries[0].key) }) : t('confirmDeleteObjects', { count: props.entries.length })}</p>
        <EntryNames entries={props.entries} />
        {folders > 0 && (
          <p class="warning" data-folder-count={inFolders ?? ''}>
            {inFolders === null
              ? t('foldersDeletedWithContent')
              : t(inFolders > COUNT_LIMIT ? 'foldersDeletedCountMore' : inFolders === 1 ? 'foldersDeletedCountOne' : 'foldersDeletedCount', { count: formatCount(Math.min(inFolders, COUNT_LIMIT), lang) })}
          </p>
        )}
        {bulk.done !== null && <p role="status">{t('deletedCount', { count: formatCount(bulk.done, lang) })}</p>}
        <ErrorNote error={bulk.error} />
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => {
            props.onClose(bulk.done !== null);
          }}>
            {t('cancel')}
          </button>
          <button type="button" class="danger" disabled={bulk.done !== null && bulk.error === null} onClick={() => void remove()}>
            {t('delete')}
          </button>
        </div>
      </div>
    </Dialog>
  );
}

/** "Deleted “a.txt”." or "Copied 3 items to photos/2026/." */
function doneText(t: Translate, action: 'deleted' | 'copied' | 'moved', entries: Entry[], to: string): string {
  const one = entries.length === 1 ? entries[0] : undefined;
  const keys = { deleted: ['deletedOne', 'deletedMany'], copied: ['copiedOne', 'copiedMany'], moved: ['movedOne', 'movedMany'] } as const;
  return t(keys[action][one ? 0 : 1], { name: one ? baseName(one.key) : '', count: entries.length, to });
}

function EntryNames(props: { entries: Entry[] }) {
  const shown = props.entries.slice(0, 5);
  return (
    <ul class="entry-names">
      {shown.map((entry) => (
        <li key={entry.key}>{entry.key}</li>
      ))}
      {props.entries.length > shown.length && <li>…</li>}
    </ul>
  );
}

/** Copies (and for a move, then deletes) each selected key to the same relative place under another folder or bucket. */
export function CopyMoveDialog(props: { mode: 'copy' | 'move'; bucket: string; folder: string; entries: Entry[]; onClose: (changed: boolean, done?: string) => void }) {
  const { t, lang } = useI18n();
  const { objects } = useSession();
  const buckets = useLoad(listBuckets, []);
  const [target, setTarget] = useState(props.bucket);
  const [targetFolder, setTargetFolder] = useState(props.folder);
  const bulk = useBulkRun();
  /** Names at the destination that the copy would replace, once looked up for this destination; confirmed by submitting again. */
  const [conflicts, setConflicts] = useState<{ scope: string; keys: string[] } | null>(null);
  const [checking, setChecking] = useState(false);
  const [checkError, setCheckError] = useState<unknown>(null);
  const destination = targetFolder === '' || targetFolder.endsWith('/') ? targetFolder.replace(/^\/+/, '') : `${targetFolder.replace(/^\/+/, '')}/`;
  const problem = destinationProblem(props, target, destination);

  const scope = `${target}\n${destination}`;
  const confirmed = conflicts?.scope === scope;
  const start = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (!confirmed) {
      setChecking(true);
      setCheckError(null);
      try {
        const keys: string[] = [];
        for await (const key of keysOf(objects, props.bucket, props.entries)) keys.push(destination + key.slice(props.folder.length));
        const taken = await objects.existing(target, keys);
        if (taken.length > 0) {
          setConflicts({ scope, keys: taken });
          return;
        }
      } catch (err) {
        setCheckError(err);
        return;
      } finally {
        setChecking(false);
      }
    }
    const ok = await bulk.run((count, signal) =>
      runEach(keysOf(objects, props.bucket, props.entries), 4, async (key) => {
        const to = { bucket: target, key: destination + key.slice(props.folder.length) };
        await objects.copy({ bucket: props.bucket, key }, to);
        if (props.mode === 'move') await objects.delete(props.bucket, key);
        count();
      }, signal),
    );
    if (ok) props.onClose(true, doneText(t, props.mode === 'copy' ? 'copied' : 'moved', props.entries, `${target}/${destination}`));
  };

  const title = t(props.mode === 'copy' ? 'copyObjects' : 'moveObjects');
  return (
    <Dialog title={title} onClose={() => {
      props.onClose(bulk.done !== null);
    }}>
      <form class="form" onSubmit={(event) => void start(event)}>
        <EntryNames entries={props.entries} />
        <label>
          {t('targetBucket')}
          <select name="targetBucket" value={target} onChange={(e) => {
            setTarget(e.currentTarget.value);
            setConflicts(null);
          }}>
            {(buckets.data ?? [{ name: props.bucket }]).map((bucket) => (
              <option key={bucket.name} value={bucket.name}>
                {bucket.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('targetFolder')}
          <input name="targetFolder" autocomplete="off" placeholder={t('bucketRoot')} value={targetFolder} onInput={(e) => {
            setTargetFolder(e.currentTarget.value);
            setConflicts(null);
          }} />
        </label>
        {problem && <p class="hint invalid">{t(problem)}</p>}
        {confirmed && (
          <div class="warning" role="alert">
            <p>{t('replaceAtDestination', { count: conflicts.keys.length, to: `${target}/${destination}` })}</p>
            <ul class="entry-names">
              {conflicts.keys.slice(0, 5).map((key) => (
                <li key={key}>{key}</li>
              ))}
              {conflicts.keys.length > 5 && <li>…</li>}
            </ul>
          </div>
        )}
        {bulk.done !== null && <p role="status">{t(props.mode === 'copy' ? 'copiedCount' : 'movedCount', { count: formatCount(bulk.done, lang) })}</p>}
        <ErrorNote error={bulk.error ?? checkError} />
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => {
            props.onClose(bulk.done !== null);
          }}>
            {t('cancel')}
          </button>
          <button type="submit" class={confirmed ? 'danger' : undefined} disabled={checking || problem !== null || (bulk.done !== null && bulk.error === null)}>
            {confirmed ? t(props.mode === 'copy' ? 'replaceAndCopy' : 'replaceAndMove') : title}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function destinationProblem(props: { bucket: string; folder: string; entries: Entry[] }, target: string, destination: string): MessageKey | null {
  if (destination.split('/').some((part, i, all) => (part === '' && i < all.length - 1) || part === '.' || part === '..')) return 'targetFolderInvalid';
  if (target !== props.bucket) return null;
  if (destination === props.folder) return 'targetSameFolder';
  if (props.entries.some((entry) => entry.kind === 'folder' && destination.startsWith(entry.key))) return 'targetInsideItself';
  return null;
}
