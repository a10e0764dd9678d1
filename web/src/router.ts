/** The console's screens as URLs under /console/, so that reload, back and links work. */
import { useEffect, useState } from 'preact/hooks';

export type Tab = 'objects' | 'settings';

export type Route =
  | { page: 'buckets'; search: string }
  | {
      page: 'bucket';
      bucket: string;
      tab: Tab;
      folder: string;
      /** The name-prefix filter typed in the Objects tab. */
      filter: string;
      /** The page of the listing (1 is the first) and the key the page starts after (null on page 1). */
      pageNumber: number;
      after: string | null;
      info: string | null;
    };

export type BucketRoute = Extract<Route, { page: 'bucket' }>;

/** A bucket's Objects tab at the top of a folder: first page, no filter, no panel. */
export function folderRoute(bucket: string, folder: string, tab: Tab = 'objects'): BucketRoute {
  return { page: 'bucket', bucket, tab, folder, filter: '', pageNumber: 1, after: null, info: null };
}

const BASE = '/console/';

export function parseRoute(url: URL): Route {
  const rest = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) : '';
  const match = /^buckets\/([^/]+)\/?$/.exec(rest);
  const bucket = match?.[1] === undefined ? null : safeDecode(match[1]);
  if (bucket === null) return { page: 'buckets', search: url.searchParams.get('q') ?? '' };
  const after = url.searchParams.get('after');
  const pageNumber = Number(url.searchParams.get('page') ?? '1');
  const paged = after !== null && Number.isInteger(pageNumber) && pageNumber > 1;
  return {
    page: 'bucket',
    bucket,
    tab: url.searchParams.get('tab') === 'settings' ? 'settings' : 'objects',
    folder: url.searchParams.get('folder') ?? '',
    filter: url.searchParams.get('prefix') ?? '',
    pageNumber: paged ? pageNumber : 1,
    after: paged ? after : null,
    info: url.searchParams.get('info'),
  };
}

export function hrefOf(route: Route): string {
  if (route.page === 'buckets') return route.search ? `${BASE}?${new URLSearchParams({ q: route.search }).toString()}` : BASE;
  const query = new URLSearchParams();
  if (route.tab !== 'objects') query.set('tab', route.tab);
  if (route.folder) query.set('folder', route.folder);
  if (route.filter) query.set('prefix', route.filter);
  if (route.after !== null && route.pageNumber > 1) {
    query.set('page', String(route.pageNumber));
    query.set('after', route.after);
  }
  if (route.info !== null) query.set('info', route.info);
  const search = query.toString();
  return `${BASE}buckets/${encodeURIComponent(route.bucket)}${search ? `?${search}` : ''}`;
}

const listeners = new Set<() => void>();

export function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  for (const listener of listeners) listener();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(new URL(location.href)));
  useEffect(() => {
    const update = (): void => {
      setRoute(parseRoute(new URL(location.href)));
    };
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** For `<a href onClick>`: plain clicks move inside the app; modified clicks (new tab, …) stay the browser's. */
export function followLink(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(anchor.getAttribute('href') ?? BASE);
}

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
