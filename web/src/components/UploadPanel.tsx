/** The uploads of this bucket view: each file's progress and the total, with cancel. */
import { useI18n } from '../context.ts';
import { formatBytes } from '../format.ts';
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
