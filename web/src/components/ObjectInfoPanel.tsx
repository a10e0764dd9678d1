/** An object's information: size, type, ETag, last modified, metadata, and its location URL to copy or open. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Bucket } from '../api/buckets.ts';
import { ApiError, encodeKey } from '../api/http.ts';
import { isFolderKey, type ObjectInfo } from '../api/objects.ts';
import { useI18n, useSession } from '../context.ts';
import { baseName, formatBytes, formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { saveBlob } from './object-dialogs.tsx';
import { TempLinkDialog } from './TempLinkDialog.tsx';
import { VersionsDialog } from './VersionsDialog.tsx';
import { ErrorNote, MetaRows, metaOf, metaRowProblem, returnFocus, type MetaRow } from './ui.tsx';

export function ObjectInfoPanel(props: { bucket: Bucket; objectKey: string; publicRead: boolean; onClose: () => void; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const { session, objects, downloads } = useSession();
  const { bucket, objectKey } = props;
  const info = useLoad(() => objects.head(bucket.name, objectKey), [bucket.name, objectKey]);
  const [editing, setEditing] = useState(false);
  const [dialog, setDialog] = useState<'tempLink' | 'versions' | null>(null);
  const url = `${session.storageUrl}/${encodeURIComponent(bucket.name)}/${encodeKey(objectKey)}`;
  const isFolder = isFolderKey(objectKey);
  // Whether to offer the object's versions (a folder has none to show).
  const versioning = useLoad(() => (isFolder ? Promise.resolve('off' as const) : objects.versioning(bucket.name)), [bucket.name, isFolder]);
  const noMarker = isFolder && info.error instanceof ApiError && info.error.status === 404;
  const panel = useRef<HTMLElement>(null);
  /** What opened the panel (a row's link): the focus goes back there when it closes. */
  const opener = useRef<Element | null>(null);
  const shownKey = useRef(objectKey);
  shownKey.current = objectKey;
  useEffect(() => {
    const active = document.activeElement;
    if (active && !panel.current?.contains(active)) opener.current = active;
    panel.current?.focus();
  }, [objectKey]);
  useEffect(() => () => {
    // Opened from the URL (a reload, a shared link), the panel's row is the natural place to come back to.
    const row = [...document.querySelectorAll('tr[data-key]')].find((tr) => tr.getAttribute('data-key') === shownKey.current);
    const fallback = row?.querySelector('td.name a') ?? null;
    returnFocus(opener.current instanceof HTMLElement && opener.current.isConnected && opener.current !== document.body ? opener.current : fallback);
  }, []);

  return (
    <aside class="info-panel" aria-label={t('objectInfo')} tabIndex={-1} ref={panel} onKeyDown={(event) => {
      // Escape in a dialog opened from here closes that dialog only.
      if (event.key === 'Escape' && !(event.target instanceof Element && event.target.closest('dialog'))) props.onClose();
    }}>
      <header class="dialog-head">
        <h2>{t(isFolder ? 'folderInfo' : 'objectInfo')}</h2>
        <button type="button" class="icon" aria-label={t('close')} onClick={props.onClose}>
          ×
        </button>
      </header>
      <p class="info-name">{objectKey}</p>
      {noMarker ? <p class="muted">{t('implicitFolder')}</p> : <ErrorNote error={info.error} />}
      {info.data && !editing && <InfoDetails info={info.data} lang={lang} />}
      {info.data && editing && (
        <MetadataEditor
          bucket={bucket.name}
          info={info.data}
          onDone={(changed) => {
            setEditing(false);
            if (changed) {
              info.reload();
              props.onChanged();
            }
          }}
        />
      )}
      {info.data && !editing && (
        <div class="buttons left">
          {!isFolder && (
            <button type="button" class="secondary" onClick={() => {
              const name = baseName(objectKey);
              void downloads.start(bucket.name, objectKey, name, (blob) => {
                saveBlob(blob, name);
              });
            }}>
              {t('download')}
            </button>
          )}
          <button type="button" class="secondary" onClick={() => {
            setEditing(true);
          }}>
            {t('editMetadata')}
          </button>
          {!isFolder && (
            <button type="button" class="secondary" data-open="temp-link" onClick={() => {
              setDialog('tempLink');
            }}>
              {t('tempLink')}
            </button>
          )}
          {!isFolder && versioning.data !== null && versioning.data !== 'off' && (
            <button type="button" class="secondary" data-open="versions" onClick={() => {
              setDialog('versions');
            }}>
              {t('versions')}
            </button>
          )}
        </div>
      )}
      {dialog === 'tempLink' && <TempLinkDialog bucket={bucket.name} objectKey={objectKey} onClose={() => {
        setDialog(null);
      }} />}
      {dialog === 'versions' && (
        <VersionsDialog bucket={bucket.name} objectKey={objectKey} onChanged={() => {
          info.reload();
          props.onChanged();
        }} onClose={() => {
          setDialog(null);
        }} />
      )}
      <LocationUrl url={url} bucket={bucket} />
      {info.data?.contentType.startsWith('image/') && info.data.size <= PREVIEW_MAX && <ImagePreview bucket={bucket.name} objectKey={objectKey} />}
    </aside>
  );
}

const PREVIEW_MAX = 10 * 1024 * 1024;

function InfoDetails(props: { info: ObjectInfo; lang: 'ko' | 'en' }) {
  const { t } = useI18n();
  const { info } = props;
  const meta = Object.entries(info.meta);
  return (
    <>
      <dl class="facts">
        <dt>{t('size')}</dt>
        <dd data-fact="size">{formatBytes(info.size, props.lang)} <span class="muted">({info.size.toLocaleString(props.lang)} B)</span></dd>
        <dt>{t('type')}</dt>
        <dd data-fact="type">{info.contentType}</dd>
        <dt>ETag</dt>
        <dd data-fact="etag" class="mono">{info.etag}</dd>
        <dt>{t('lastModified')}</dt>
        <dd data-fact="lastModified">{formatTime(info.lastModified, props.lang)}</dd>
      </dl>
      <h3>{t('metadata')}</h3>
      {meta.length === 0 ? (
        <p class="muted">{t('noMetadata')}</p>
      ) : (
        <dl class="facts meta">
          {meta.map(([name, value]) => (
            <div key={name} class="fact" data-meta={name}>
              <dt>{name}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
    </>
  );
}

function LocationUrl(props: { url: string; bucket: Bucket }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState<'copied' | 'failed' | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const publicRead = props.bucket.acl.public === 'read-only';
  const allowList = props.bucket.acl.public_read_allow_ip_list;

  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(props.url);
      setCopied('copied');
    } catch {
      // No clipboard access (plain http on another host): leave the URL selected for Ctrl+C.
      input.current?.select();
      setCopied('failed');
    }
  };

  return (
    <section class="location" aria-label={t('locationUrl')}>
      <h3>{t('locationUrl')}</h3>
      <div class="copy-row">
        <input ref={input} readOnly value={props.url} aria-label={t('locationUrl')} data-location-url onFocus={(e) => {
          e.currentTarget.select();
        }} />
        <button type="button" onClick={() => void copy()}>
          {t('copyUrl')}
        </button>
      </div>
      {copied && (
        <p role="status" class="muted">
          {t(copied === 'copied' ? 'urlCopied' : 'urlCopyManually')}
        </p>
      )}
      {publicRead ? (
        <p class="muted">
          {allowList.length > 0 ? t('urlPublicFrom', { list: allowList.join(', ') }) : t('urlPublic')}{' '}
          <a href={props.url} target="_blank" rel="noopener noreferrer">
            {t('openInNewTab')}
          </a>
        </p>
      ) : (
        <p class="muted">{t('urlPrivate')}</p>
      )}
    </section>
  );
}

function ImagePreview(props: { bucket: string; objectKey: string }) {
  const { t } = useI18n();
  const { objects } = useSession();
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    void objects.download(props.bucket, props.objectKey).then(
      (blob) => {
        if (!live) return;
        url = URL.createObjectURL(blob);
        setSrc(url);
      },
      () => undefined,
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [props.bucket, props.objectKey]);
  return src ? <img class="preview" src={src} alt={t('previewOf', { name: baseName(props.objectKey) })} /> : null;
}

/** Content type and user metadata, saved together (Swift's object POST replaces the whole set). */
function MetadataEditor(props: { bucket: string; info: ObjectInfo; onDone: (changed: boolean) => void }) {
  const { t } = useI18n();
  const { objects } = useSession();
  const [contentType, setContentType] = useState(props.info.contentType);
  const [rows, setRows] = useState<MetaRow[]>(() => Object.entries(props.info.meta).map(([name, value]) => ({ name, value })));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const problem = metaRowProblem(rows) ?? (contentType.trim() === '' ? 'contentTypeRequired' : null);

  const save = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await objects.update(props.bucket, props.info.key, contentType.trim(), metaOf(rows));
      props.onDone(true);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <form class="form" onSubmit={(event) => void save(event)}>
      <label>
        {t('contentType')}
        <input name="contentType" value={contentType} onInput={(e) => {
          setContentType(e.currentTarget.value);
        }} />
      </label>
      <MetaRows rows={rows} onChange={setRows} />
      {problem && <p class="hint invalid">{t(problem)}</p>}
      <ErrorNote error={error} />
      <div class="buttons">
        <button type="button" class="secondary" onClick={() => {
          props.onDone(false);
        }}>
          {t('cancel')}
        </button>
        <button type="submit" disabled={busy || problem !== null}>
          {t('save')}
        </button>
      </div>
    </form>
  );
}
