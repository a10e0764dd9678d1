/** One bucket: its name and state on top, then the Objects or Settings tab. */
import { getBucket, isPublic } from '../api/buckets.ts';
import { ApiError } from '../api/http.ts';
import { useI18n } from '../context.ts';
import { useLoad } from '../hooks.ts';
import { folderRoute, followLink, hrefOf, navigate, type BucketRoute, type Tab } from '../router.ts';
import { BucketSettings } from './BucketSettings.tsx';
import { ObjectBrowser } from './ObjectBrowser.tsx';
import { ErrorNote } from './ui.tsx';

const TABS: readonly Tab[] = ['objects', 'settings'];

export function BucketPage(props: { route: BucketRoute }) {
  const { t } = useI18n();
  const { route } = props;
  const bucket = useLoad(() => getBucket(route.bucket), [route.bucket]);
  const tabHref = (tab: Tab): string => hrefOf(folderRoute(route.bucket, tab === 'objects' ? route.folder : '', tab));

  return (
    <section class="page" aria-labelledby="bucket-title">
      <nav class="crumbs" aria-label={t('location')}>
        <a href={hrefOf({ page: 'buckets', search: '' })} onClick={followLink}>
          {t('buckets')}
        </a>
        <span aria-hidden="true">›</span>
      </nav>
      <div class="page-head">
        <h1 id="bucket-title" tabIndex={-1}>{route.bucket}</h1>
        {bucket.data && (
          <span class="badges">
            <span class={isPublic(bucket.data) ? 'badge public' : 'badge'}>{isPublic(bucket.data) ? t('public') : t('private')}</span>
            {bucket.data.use_encryption && <span class="badge">{t('encrypted')}</span>}
          </span>
        )}
      </div>
      {/* Once the bucket is shown, a failed refresh of it keeps it: the tab below says what failed. */}
      {!bucket.data && (
        <ErrorNote error={bucket.error} explain={{ notFound: 'errNoSuchBucket' }}>
          {!(bucket.error instanceof ApiError && bucket.error.status === 404) && (
            <button type="button" class="secondary small retry" onClick={bucket.reload}>
              {t('retry')}
            </button>
          )}
        </ErrorNote>
      )}
      <div class="tabs" role="tablist" onKeyDown={(event) => {
        // Arrow keys (and Home, End) move between the tabs, as in any tab list.
        const next = { ArrowRight: 1, ArrowLeft: -1, Home: -2, End: 2 }[event.key];
        if (next === undefined) return;
        event.preventDefault();
        const index = Math.max(0, Math.min(TABS.length - 1, next === -2 ? 0 : next === 2 ? TABS.length - 1 : TABS.indexOf(route.tab) + next));
        const tab = TABS[index] ?? 'objects';
        navigate(tabHref(tab));
        requestAnimationFrame(() => {
          document.querySelector<HTMLElement>(`[role="tab"][data-tab="${tab}"]`)?.focus();
        });
      }}>
        {TABS.map((tab) => (
          <a key={tab} role="tab" data-tab={tab} aria-selected={route.tab === tab} tabIndex={route.tab === tab ? 0 : -1} href={tabHref(tab)} onClick={followLink}>
            {t(tab === 'objects' ? 'tabObjects' : 'tabSettings')}
          </a>
        ))}
      </div>
      {bucket.data &&
        (route.tab === 'objects' ? (
          <ObjectBrowser bucket={bucket.data} route={route} onChanged={bucket.reload} />
        ) : (
          <BucketSettings bucket={bucket.data} onChanged={bucket.reload} />
        ))}
    </section>
  );
}
