/** The session's uploads (each file's progress and the total, with cancel and retry) and downloads. */
import { useI18n } from '../context.ts';
import { formatBytes } from '../format.ts';
import type { Download, DownloadQueue } from '../downloads.ts';
import type { Upload, UploadQueue } from '../uploads.ts';
import { ErrorNote } from './ui.tsx';

export function UploadPanel(props: { queue: UploadQueue }) {
  const { t, lang } = useI18n();
  const { queue } = props;
  if (queue.items.length === 0) return null;
  const total = queue.total();
  const active = queue.items.some((upload) => upload.state === 'queued' || upload.state === 'uploading');
  const failed = queue.items.filter((upload) => upload.state === 'failed').length;
  return (
    <section class="uploads" aria-label={t('uploads')}>
      <div class="uploads-head">
        <strong>{t('uploads')}</strong>
        <span role="status">{t('uploadsDone', { done: total.done, count: total.count })}</span>
        <progress aria-label={t('totalProgress')} value={total.loaded} max={Math.max(total.size, 1)} data-total-progress />
        <span>{percent(total.loaded, total.size)}</span>
        <span class="spacer" />
        {failed > 0 && (
          <button type="button" class="secondary small" onClick={() => {
            queue.retryFailed();
          }}>
            {t('retryFailed', { count: failed })}
          </button>
        )}
        {active ? (
          <button type="button" class="secondary small" onClick={() => {
            queue.cancelAll();
          }}>
            {t('cancelAll')}
          </button>
        ) : (
          <button type="button" class="secondary small" onClick={() => {
            queue.clearFinished();
          }}>
            {t('clearFinished')}
          </button>
        )}
      </div>
      <ul>
        {queue.items.map((upload) => (
          <UploadRow key={upload.id} upload={upload} size={formatBytes(upload.file.size, lang)} onRetry={() => {
            queue.retry(upload);
          }} />
        ))}
      </ul>
    </section>
  );
}

function UploadRow(props: { upload: Upload; size: string; onRetry: () => void }) {
  const { t } = useI18n();
  const { upload } = props;
  const stateText = { queued: t('uploadQueued'), uploading: percent(upload.loaded, upload.file.size), done: t('uploadDone'), failed: t('uploadFailed'), cancelled: t('uploadCancelled') }[upload.state];
  return (
    <li data-upload={upload.key} data-state={upload.state}>
      <span class="upload-name" title={upload.key}>
        {upload.key}
      </span>
      <span class="muted">{props.size}</span>
      <progress aria-label={t('progressOf', { name: upload.key })} value={upload.loaded} max={Math.max(upload.file.size, 1)} />
      <span class="upload-state">{stateText}</span>
      {(upload.state === 'queued' || upload.state === 'uploading') && (
        <button type="button" class="secondary small" aria-label={t('cancelUploadOf', { name: upload.key })} onClick={upload.cancel}>
          {t('cancel')}
        </button>
      )}
      {upload.state === 'failed' && (
        <button type="button" class="secondary small" aria-label={t('retryUploadOf', { name: upload.key })} onClick={props.onRetry}>
          {t('retry')}
        </button>
      )}
      {upload.state === 'failed' && <ErrorNote error={upload.error} />}
    </li>
  );
}

function percent(loaded: number, size: number): string {
  return `${size === 0 ? 100 : Math.floor((loaded / size) * 100)}%`;
}

export function DownloadPanel(props: { queue: DownloadQueue }) {
  const { t, lang } = useI18n();
  const { queue } = props;
  if (queue.items.length === 0) return null;
  const active = queue.items.some((item) => item.state === 'starting' || item.state === 'downloading');
  return (
    <section class="uploads downloads" aria-label={t('downloads')}>
      <div class="uploads-head">
        <strong>{t('downloads')}</strong>
        <span class="muted">{t('downloadsHelp')}</span>
        <span class="spacer" />
        {!active && (
          <button type="button" class="secondary small" onClick={() => {
            queue.clearFinished();
          }}>
            {t('clearFinished')}
          </button>
        )}
      </div>
      <ul>
        {queue.items.map((item) => (
          <DownloadRow key={item.id} item={item} size={item.total === null ? '' : formatBytes(item.total, lang)} />
        ))}
      </ul>
    </section>
  );
}

function DownloadRow(props: { item: Download; size: string }) {
  const { t } = useI18n();
  const { item } = props;
  const stateText = {
    starting: t('uploadQueued'),
    downloading: item.total === null ? '' : percent(item.loaded, item.total),
    done: t('uploadDone'),
    failed: t('uploadFailed'),
  }[item.state];
  return (
    <li data-download={item.key} data-state={item.state}>
      <span class="upload-name" title={item.key}>
        {item.key}
      </span>
      <span class="muted">{props.size}</span>
      <progress aria-label={t('downloadProgressOf', { name: item.key })} value={item.loaded} max={Math.max(item.total ?? item.loaded, 1)} />
      <span class="upload-state">{stateText}</span>
      <span />
      {item.state === 'failed' && <ErrorNote error={item.error} />}
    </li>
  );
}
