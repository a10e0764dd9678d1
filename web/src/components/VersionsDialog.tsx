/**
 * The versions of one object in a bucket with versioning: each one's id, size, time and state; download one,
 * restore one (copied over the object as a new current version), delete one for good (after asking).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ObjectVersion } from '../api/objects.ts';
import { useI18n, useSession } from '../context.ts';
import { baseName, formatBytes, formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { saveBlob } from './object-dialogs.tsx';
import { Dialog, ErrorNote } from './ui.tsx';

export function VersionsDialog(props: { bucket: string; objectKey: string; onClose: () => void; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const { objects, downloads } = useSession();
  const { bucket, objectKey } = props;
  const versions = useLoad(() => objects.versions(bucket, objectKey), [bucket, objectKey]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const [confirming, setConfirming] = useState<ObjectVersion | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const dialogBody = useRef<HTMLDivElement>(null);
  const cancelDelete = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) cancelDelete.current?.focus();
  }, [confirming]);

  /** Back to the button a step started from (found again after a re-render), else to the list's heading. */
  const focusAction = (versionId: string, action: string): void => {
    setTimeout(() => {
      const button = dialogBody.current?.querySelector<HTMLButtonElement>(`tr[data-version="${versionId}"] button[data-action="${action}"]`);
      (button ?? heading.current)?.focus();
    }, 0);
  };

  const act = async (task: () => Promise<void>, done: string): Promise<boolean> => {
    setBusy(true);
    setError(null);
    setNotice('');
    try {
      await task();
      setNotice(done);
      versions.reload();
      props.onChanged();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const restore = async (version: ObjectVersion): Promise<void> => {
    await act(() => objects.restoreVersion(bucket, objectKey, version.versionId), t('versionRestored', { time: formatTime(version.lastModified, lang) }));
    // The button was disabled meanwhile, which took the focus away.
    focusAction(version.versionId, 'restore');
  };

  const remove = async (version: ObjectVersion): Promise<void> => {
    const removed = await act(() => objects.deleteVersion(bucket, objectKey, version.versionId), t('versionDeleted', { time: formatTime(version.lastModified, lang) }));
    setConfirming(null);
    if (removed) setTimeout(() => heading.current?.focus(), 0);
    else focusAction(version.versionId, 'delete');
  };

  const list = versions.data ?? [];
  return (
    <Dialog wide title={t('versionsOf', { name: baseName(objectKey) })} onClose={props.onClose}>
      <div ref={dialogBody} data-versions>
        <h3 ref={heading} tabIndex={-1}>
          {t('versionsCount', { count: list.length })}
        </h3>
        <ErrorNote error={versions.error ?? error} explain={{ notFound: 'versionGone', forbidden: 'versionForbidden' }} />
        <div class="notice-slot" role="status">
          {notice && <p class="notice success" data-notice>{notice}</p>}
        </div>
        {confirming && (
          <div class="confirm" role="group" aria-labelledby="confirm-version-text" data-confirm-version>
            <p id="confirm-version-text">{t('versionDeleteConfirm', { time: formatTime(confirming.lastModified, lang), id: confirming.versionId })}</p>
            <div class="buttons left">
              <button type="button" class="secondary" data-action="cancel-delete" ref={cancelDelete} onClick={() => {
                const { versionId } = confirming;
                setConfirming(null);
                focusAction(versionId, 'delete');
              }}>
                {t('cancel')}
              </button>
              <button type="button" class="danger" disabled={busy} data-action="confirm-delete" onClick={() => void remove(confirming)}>
                {t('versionDelete')}
              </button>
            </div>
          </div>
        )}
        <div class="table-scroll">
          <table class="list versions" aria-busy={versions.loading}>
            <caption class="sr-only">{t('versionsOf', { name: objectKey })}</caption>
            <thead>
              <tr>
                <th scope="col">{t('versionId')}</th>
                <th scope="col">{t('size')}</th>
                <th scope="col">{t('lastModified')}</th>
                <th scope="col">{t('versionState')}</th>
                <th scope="col">{t('actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((version) => (
                <tr key={version.versionId} data-version={version.versionId} data-latest={version.isLatest ? 'true' : undefined}>
                  <td class="mono version-id">{version.versionId}</td>
                  <td class="nowrap">{version.deleteMarker ? '–' : formatBytes(version.size, lang)}</td>
                  <td class="version-time">{formatTime(version.lastModified, lang)}</td>
                  <td data-state>{version.deleteMarker ? t('deleteMarker') : version.isLatest ? t('versionCurrent') : t('versionOlder')}</td>
                  <td>
                    <div class="row-actions">
                      {!version.deleteMarker && (
                        <button type="button" class="secondary small" data-action="download" aria-label={`${t('download')} (${formatTime(version.lastModified, lang)})`} onClick={() => {
                          const name = baseName(objectKey);
                          void downloads.start(bucket, objectKey, name, (blob) => {
                            saveBlob(blob, name);
                          }, version.versionId);
                        }}>
                          {t('download')}
                        </button>
                      )}
                      {!version.deleteMarker && !version.isLatest && (
                        <button type="button" class="secondary small" data-action="restore" disabled={busy} aria-label={`${t('versionRestore')} (${formatTime(version.lastModified, lang)})`} onClick={() => void restore(version)}>
                          {t('versionRestore')}
                        </button>
                      )}
                      <button type="button" class="secondary small" data-action="delete" disabled={busy} aria-label={`${t('delete')} (${formatTime(version.lastModified, lang)})`} onClick={() => {
                        setNotice('');
                        setConfirming(version);
                      }}>
                        {t('delete')}
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p class="muted">{t('versionsHelp')}</p>
        <div class="buttons">
          <button type="button" onClick={props.onClose}>
            {t('close')}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
