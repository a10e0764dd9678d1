/** The project's buckets: search, create, empty, delete. */
import { useEffect, useState } from 'preact/hooks';
import { isPublic, listBuckets, type Bucket } from '../api/buckets.ts';
import { useI18n } from '../context.ts';
import { formatBytes, formatCount, formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { folderRoute, followLink, hrefOf, navigate } from '../router.ts';
import { CreateBucketDialog, DeleteBucketDialog, EmptyBucketDialog } from './bucket-dialogs.tsx';
import { ErrorNote, Notice } from './ui.tsx';

type Open = { dialog: 'create' } | { dialog: 'delete'; bucket: Bucket } | { dialog: 'empty'; bucket: Bucket } | null;

export function BucketList(props: { search: string }) {
  const { t, lang } = useI18n();
  const buckets = useLoad(listBuckets, []);
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // Buckets emptied since the list was loaded show as empty until it is loaded again, so that deleting one right
  // after emptying it is not refused on the old count.
  const [emptied, setEmptied] = useState<ReadonlySet<string>>(new Set());
  useEffect(() => {
    setEmptied(new Set());
  }, [buckets.data]);
  const close = (changed: boolean, done?: string): void => {
    if (done !== undefined && open?.dialog === 'empty') setEmptied(new Set([...emptied, open.bucket.name]));
    setOpen(null);
    if (done !== undefined) setNotice(done);
    if (changed) buckets.reload();
  };
  const search = props.search.trim().toLowerCase();
  const shown = (buckets.data ?? [])
    .filter((bucket) => bucket.name.includes(search))
    .map((bucket) => (emptied.has(bucket.name) ? { ...bucket, objectCount: 0, bytes: 0 } : bucket));

  return (
    <section class="page" aria-labelledby="buckets-title">
      <div class="page-head">
        <h1 id="buckets-title" tabIndex={-1}>{t('buckets')}</h1>
        <div class="toolbar">
          <input
            type="search"
            class="search"
            aria-label={t('searchBuckets')}
            placeholder={t('searchBuckets')}
            value={props.search}
            onInput={(e) => {
              navigate(hrefOf({ page: 'buckets', search: e.currentTarget.value }), true);
            }}
          />
          <button type="button" class="secondary" onClick={buckets.reload}>
            {t('refresh')}
          </button>
          <button type="button" onClick={() => {
            setOpen({ dialog: 'create' });
          }}>
            {t('createBucket')}
          </button>
        </div>
      </div>
      <Notice text={notice} onClose={() => {
        setNotice(null);
      }} />
      <ErrorNote error={buckets.error}>
        <button type="button" class="secondary small retry" onClick={buckets.reload}>
          {t('retry')}
        </button>
      </ErrorNote>
      <table class="list buckets" aria-busy={buckets.loading}>
        <thead>
          <tr>
            <th>{t('name')}</th>
            <th class="wide-only">{t('type')}</th>
            <th class="wide-only">{t('created')}</th>
            <th class="num wide-only">{t('objects')}</th>
            <th class="num">{t('size')}</th>
            <th class="wide-only">{t('encryption')}</th>
            <th>{t('access')}</th>
            <th class="actions"><span class="sr-only">{t('actions')}</span></th>
          </tr>
        </thead>
        <tbody>
          {shown.map((bucket) => (
            <tr key={bucket.name} data-bucket={bucket.name}>
              <td class="name">
                <a href={hrefOf(folderRoute(bucket.name, ''))} onClick={followLink}>
                  {bucket.name}
                </a>
              </td>
              <td class="wide-only">{bucket.type}</td>
              <td class="wide-only">{formatTime(Date.parse(bucket.createdAt), lang)}</td>
              <td class="num wide-only">{formatCount(bucket.objectCount, lang)}</td>
              <td class="num">{formatBytes(bucket.bytes, lang)}</td>
              <td class="wide-only">{bucket.use_encryption ? t('encrypted') : t('notEncrypted')}</td>
              <td>
                <span class={isPublic(bucket) ? 'badge public' : 'badge'}>{isPublic(bucket) ? t('public') : t('private')}</span>
              </td>
              <td class="actions">
                <button type="button" class="secondary small" aria-label={t('emptyBucketNamed', { name: bucket.name })} onClick={() => {
                  setOpen({ dialog: 'empty', bucket });
                }}>
                  {t('emptyBucket')}
                </button>
                <button type="button" class="danger small" aria-label={t('deleteBucketNamed', { name: bucket.name })} onClick={() => {
                  setOpen({ dialog: 'delete', bucket });
                }}>
                  {t('delete')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!buckets.loading && !buckets.error && shown.length === 0 && (
        <p class="empty">{search ? t('noBucketsMatch') : t('noBuckets')}</p>
      )}
      {open?.dialog === 'create' && <CreateBucketDialog onClose={close} />}
      {open?.dialog === 'delete' && (
        <DeleteBucketDialog bucket={open.bucket} onClose={close} onEmpty={() => {
          setOpen({ dialog: 'empty', bucket: open.bucket });
        }} />
      )}
      {open?.dialog === 'empty' && <EmptyBucketDialog bucket={open.bucket} onClose={close} />}
    </section>
  );
}
