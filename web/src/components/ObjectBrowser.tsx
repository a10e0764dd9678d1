/** The Objects tab: folders with a breadcrumb, a prefix filter, pages, selection and the actions on them. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { isPublic, type Bucket } from '../api/buckets.ts';
import type { Entry } from '../api/objects.ts';
import { useI18n, useSession } from '../context.ts';
import { baseName, formatBytes, formatTime } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { folderRoute, followLink, hrefOf, navigate, type BucketRoute } from '../router.ts';
import { dropped, filesOf, pickedFromInput } from '../picked.ts';
import { MAX_FILES_AT_ONCE, type PickedFile } from '../uploads.ts';
import type { ZipFile } from '../downloads.ts';
import { ObjectInfoPanel } from './ObjectInfoPanel.tsx';
import { CopyMoveDialog, CreateFolderDialog, DeleteObjectsDialog, OverwriteDialog, saveBlob } from './object-dialogs.tsx';
import { ErrorNote, Notice } from './ui.tsx';

type Open = { dialog: 'folder' } | { dialog: 'delete' | 'copy' | 'move'; entries: Entry[] } | { dialog: 'overwrite'; files: PickedFile[]; existing: string[] } | null;

const PAGE_SIZE = 100;

export function ObjectBrowser(props: { bucket: Bucket; route: BucketRoute; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const { objects, uploads, downloads } = useSession();
  const { bucket, route } = props;
  const { folder, filter } = route;
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [open, setOpen] = useState<Open>(null);
  const [dragging, setDragging] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const [checking, setChecking] = useState(false);
  const marker = route.after ?? undefined;
  const listing = useLoad(() => objects.listFolder(bucket.name, folder + filter, { marker, limit: PAGE_SIZE }), [bucket.name, folder, filter, marker]);

  const refresh = (): void => {
    listing.reload();
    props.onChanged();
  };
  useRefreshOnUpload(bucket.name, refresh);
  // A notice is about the folder it was given in.
  useEffect(() => {
    setNotice(null);
  }, [bucket.name, folder]);
  const entries = listing.data?.entries ?? [];
  const [sort, setSort] = useState<Sort>({ column: 'name', descending: false });
  const sorted = sortEntries(entries, sort);
  const go = (change: Partial<BucketRoute>): void => {
    navigate(hrefOf({ ...route, ...change }));
  };

  /** Queues the files, after asking about those whose names are taken in this folder already. */
  const addFiles = async (files: PickedFile[]): Promise<void> => {
    if (files.length === 0) return;
    if (files.length > MAX_FILES_AT_ONCE) {
      setActionError(new Error(t('tooManyFiles', { max: MAX_FILES_AT_ONCE })));
      return;
    }
    setActionError(null);
    setChecking(true);
    try {
      const existing = await objects.existing(bucket.name, files.map((picked) => folder + picked.path));
      if (existing.length > 0) setOpen({ dialog: 'overwrite', files, existing });
      else uploads.add(bucket.name, folder, files);
    } catch (err) {
      setActionError(err);
    } finally {
      setChecking(false);
    }
  };

  const download = async (entry: Entry): Promise<void> => {
    const name = baseName(entry.key);
    await downloads.start(bucket.name, entry.key, name, (blob) => {
      saveBlob(blob, name);
    });
  };

  /** One object as itself; several, or a folder, as one ZIP file with the paths below this folder. */
  const downloadChosen = async (): Promise<void> => {
    const [first] = chosen;
    if (!first) return;
    if (chosen.length === 1 && first.kind === 'object') {
      await download(first);
      return;
    }
    setActionError(null);
    try {
      const files: ZipFile[] = [];
      const add = (entry: Entry): void => {
        files.push({ key: entry.key, path: entry.key.slice(folder.length), lastModified: entry.kind === 'object' ? entry.lastModified : Date.now(), folder: entry.kind === 'folder' });
      };
      for (const entry of chosen) {
        if (entry.kind === 'object') add(entry);
        else for await (const inner of objects.allEntries(bucket.name, entry.key)) add(inner);
      }
      const name = `${(chosen.length === 1 ? baseName(first.key) : folder ? baseName(folder) : bucket.name).replace(/\/$/, '')}.zip`;
      await downloads.startZip(bucket.name, name, files, saveBlob);
    } catch (err) {
      setActionError(err);
    }
  };

  const chosen = entries.filter((entry) => selected.has(entry.key));
  const closeDialog = (changed: boolean, done?: string): void => {
    setOpen(null);
    if (done !== undefined) setNotice(done);
    if (changed) {
      setSelected(new Set());
      refresh();
    }
  };
  const turnPage = async (forward: boolean): Promise<void> => {
    setActionError(null);
    try {
      if (forward) {
        if (listing.data?.next) go({ pageNumber: route.pageNumber + 1, after: listing.data.next, info: null });
      } else if (route.after !== null) {
        const after = route.pageNumber <= 2 ? null : await objects.previousPageMarker(bucket.name, folder + filter, route.after, PAGE_SIZE);
        go({ pageNumber: after === null ? 1 : route.pageNumber - 1, after, info: null });
      }
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <div
      class={['browser', dragging && 'dragging', route.info !== null && 'with-panel'].filter(Boolean).join(' ')}
      onDragOver={(event) => {
        if (!event.dataTransfer?.types.includes('Files')) return;
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(event) => {
        if (event.currentTarget === event.target) setDragging(false);
      }}
      onDrop={(event) => {
        event.preventDefault();
        setDragging(false);
        if (!event.dataTransfer) return;
        // The entries are read now: the browser empties the drop's data once the event is over.
        const entries = dropped(event.dataTransfer);
        void filesOf(entries, MAX_FILES_AT_ONCE).then(addFiles, setActionError);
      }}
    >
      <div class="toolbar">
        <button type="button" onClick={() => fileInput.current?.click()}>
          {t('uploadFiles')}
        </button>
        <input ref={fileInput} type="file" multiple hidden aria-label={t('uploadFiles')} data-upload-input onChange={(event) => {
          void addFiles(event.currentTarget.files ? pickedFromInput(event.currentTarget.files) : []);
          event.currentTarget.value = '';
        }} />
        <button type="button" class="secondary" onClick={() => folderInput.current?.click()}>
          {t('uploadFolder')}
        </button>
        <input ref={folderInput} type="file" hidden {...{ webkitdirectory: true }} aria-label={t('uploadFolder')} data-folder-input onChange={(event) => {
          void addFiles(event.currentTarget.files ? pickedFromInput(event.currentTarget.files) : []);
          event.currentTarget.value = '';
        }} />
        <button type="button" class="secondary" onClick={() => {
          setOpen({ dialog: 'folder' });
        }}>
          {t('createFolder')}
        </button>
        <span class="divider" />
        <button type="button" class="secondary" disabled={chosen.length === 0} onClick={() => void downloadChosen()}>
          {t('download')}
        </button>
        <button type="button" class="secondary" disabled={chosen.length === 0} onClick={() => {
          setOpen({ dialog: 'copy', entries: chosen });
        }}>
          {t('copy')}
        </button>
        <button type="button" class="secondary" disabled={chosen.length === 0} onClick={() => {
          setOpen({ dialog: 'move', entries: chosen });
        }}>
          {t('move')}
        </button>
        <button type="button" class="danger" disabled={chosen.length === 0} onClick={() => {
          setOpen({ dialog: 'delete', entries: chosen });
        }}>
          {t('delete')}
        </button>
        <span class="spacer" />
        <input
          type="search"
          class="search"
          aria-label={t('filterByPrefix')}
          placeholder={t('filterByPrefix')}
          value={filter}
          onInput={(e) => {
            navigate(hrefOf({ ...route, filter: e.currentTarget.value, pageNumber: 1, after: null }), true);
          }}
        />
        <button type="button" class="secondary" onClick={refresh}>
          {t('refresh')}
        </button>
      </div>
      <FolderCrumbs bucket={bucket.name} route={route} />
      <Notice text={notice} onClose={() => {
        setNotice(null);
      }} />
      <ErrorNote error={actionError} />
      <ErrorNote error={listing.error}>
        <button type="button" class="secondary small retry" onClick={refresh}>
          {t('retry')}
        </button>
      </ErrorNote>
      <table class="list objects" aria-busy={listing.loading}>
        <thead>
          <tr>
            <th class="check">
              <input
                type="checkbox"
                aria-label={t('selectAll')}
                checked={entries.length > 0 && chosen.length === entries.length}
                onChange={(e) => {
                  setSelected(new Set(e.currentTarget.checked ? entries.map((entry) => entry.key) : []));
                }}
              />
            </th>
            <SortHeader label={t('name')} column="name" sort={sort} onSort={setSort} />
            <SortHeader label={t('lastModified')} column="date" sort={sort} onSort={setSort} class="wide-only" />
            <SortHeader label={t('size')} column="size" sort={sort} onSort={setSort} class="num" />
            <th class="wide-only">{t('type')}</th>
            <th class="actions"><span class="sr-only">{t('actions')}</span></th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((entry) => (
            <EntryRow
              key={entry.key}
              entry={entry}
              name={entry.key.slice(folder.length)}
              selected={selected.has(entry.key)}
              onSelect={(on) => {
                const next = new Set(selected);
                if (on) next.add(entry.key);
                else next.delete(entry.key);
                setSelected(next);
              }}
              folderHref={hrefOf(folderRoute(bucket.name, entry.key))}
              infoHref={hrefOf({ ...route, info: entry.key })}
              lang={lang}
            />
          ))}
        </tbody>
      </table>
      {!listing.loading && !listing.error && entries.length === 0 && <p class="empty">{route.after !== null ? t('pageEmpty') : filter ? t('noObjectsMatch') : t('emptyFolder')}</p>}
      <nav class="pager" aria-label={t('pages')}>
        <button type="button" class="secondary small" disabled={route.after === null} onClick={() => void turnPage(false)}>
          {t('previousPage')}
        </button>
        <span>{t('pageNumber', { n: route.pageNumber })}</span>
        <button type="button" class="secondary small" disabled={!listing.data?.next} onClick={() => void turnPage(true)}>
          {t('nextPage')}
        </button>
      </nav>
      {dragging && <div class="drop-hint">{t('dropToUpload', { folder: `/${folder}` })}</div>}
      {route.info !== null && (
        <ObjectInfoPanel
          bucket={bucket}
          objectKey={route.info}
          publicRead={isPublic(bucket)}
          onClose={() => {
            go({ info: null });
          }}
          onChanged={refresh}
        />
      )}
      {checking && <p class="muted" role="status">{t('checkingNames')}</p>}
      {open?.dialog === 'overwrite' && (
        <OverwriteDialog folder={folder} files={open.files} existing={open.existing} onChoose={(chosen) => {
          setOpen(null);
          if (chosen.length > 0) uploads.add(bucket.name, folder, chosen);
        }} />
      )}
      {open?.dialog === 'folder' && <CreateFolderDialog bucket={bucket.name} folder={folder} onClose={closeDialog} />}
      {open?.dialog === 'delete' && <DeleteObjectsDialog bucket={bucket.name} entries={open.entries} onClose={closeDialog} />}
      {(open?.dialog === 'copy' || open?.dialog === 'move') && (
        <CopyMoveDialog mode={open.dialog} bucket={bucket.name} folder={folder} entries={open.entries} onClose={closeDialog} />
      )}
    </div>
  );
}

type SortColumn = 'name' | 'date' | 'size';
interface Sort {
  column: SortColumn;
  descending: boolean;
}

/** The page's entries in the chosen order, folders always first (the listing itself comes by name). */
function sortEntries(entries: readonly Entry[], sort: Sort): Entry[] {
  const value = (entry: Entry): number | string => {
    if (entry.kind === 'folder' || sort.column === 'name') return entry.key;
    return sort.column === 'size' ? entry.bytes : entry.lastModified;
  };
  return [...entries].sort((a, b) => {
    if (a.kind !== b.kind) return a.kind === 'folder' ? -1 : 1;
    const [x, y] = [value(a), value(b)];
    const order = x < y ? -1 : x > y ? 1 : a.key < b.key ? -1 : 1;
    return sort.descending ? -order : order;
  });
}

/** A column heading that sorts the page by it; pressed again, the other way round. */
function SortHeader(props: { label: string; column: SortColumn; sort: Sort; onSort: (sort: Sort) => void; class?: string }) {
  const { t } = useI18n();
  const active = props.sort.column === props.column;
  return (
    <th class={props.class} aria-sort={active ? (props.sort.descending ? 'descending' : 'ascending') : undefined}>
      <button type="button" class="sort" title={t('sortsThisPage')} onClick={() => {
        props.onSort({ column: props.column, descending: active ? !props.sort.descending : false });
      }}>
        {props.label}
        <span aria-hidden="true">{active ? (props.sort.descending ? ' ▼' : ' ▲') : ''}</span>
      </button>
    </th>
  );
}

function FolderCrumbs(props: { bucket: string; route: BucketRoute }) {
  const { t } = useI18n();
  const parts = props.route.folder.split('/').filter((part) => part !== '');
  const crumbs = parts.map((part, i) => ({ name: part, folder: `${parts.slice(0, i + 1).join('/')}/` }));
  const href = (folder: string): string => hrefOf(folderRoute(props.bucket, folder));
  return (
    <nav class="crumbs folders" aria-label={t('folderPath')}>
      <a href={href('')} onClick={followLink} aria-current={crumbs.length === 0 ? 'page' : undefined}>
        {props.bucket}
      </a>
      {crumbs.map((crumb, i) => (
        <span key={crumb.folder}>
          <span aria-hidden="true"> / </span>
          <a href={href(crumb.folder)} onClick={followLink} aria-current={i === crumbs.length - 1 ? 'page' : undefined}>
            {crumb.name}
          </a>
        </span>
      ))}
    </nav>
  );
}

function EntryRow(props: {
  entry: Entry;
  name: string;
  selected: boolean;
  onSelect: (on: boolean) => void;
  folderHref: string;
  infoHref: string;
  lang: 'ko' | 'en';
}) {
  const { t } = useI18n();
  const { entry } = props;
  const isFolder = entry.kind === 'folder';
  return (
    <tr data-key={entry.key} class={props.selected ? 'selected' : undefined}>
      <td class="check">
        <input type="checkbox" aria-label={t('selectNamed', { name: props.name })} checked={props.selected} onChange={(e) => {
          props.onSelect(e.currentTarget.checked);
        }} />
      </td>
      <td class="name">
        <span class={isFolder ? 'icon-folder' : 'icon-file'} aria-hidden="true" />
        <a href={isFolder ? props.folderHref : props.infoHref} onClick={followLink}>
          {props.name}
        </a>
      </td>
      <td class="wide-only">{entry.kind === 'object' ? formatTime(entry.lastModified, props.lang) : ''}</td>
      <td class="num">{entry.kind === 'object' ? formatBytes(entry.bytes, props.lang) : ''}</td>
      <td class="wide-only">{entry.kind === 'object' ? entry.contentType : t('folder')}</td>
      <td class="actions">
        <a class="button secondary small" href={props.infoHref} onClick={followLink} aria-label={t('infoNamed', { name: props.name })}>
          {t('info')}
        </a>
      </td>
    </tr>
  );
}

/** Refreshes the listing when uploads into this bucket complete: at most every half second while many finish. */
function useRefreshOnUpload(bucket: string, refresh: () => void): void {
  const { uploads } = useSession();
  const latest = useRef(refresh);
  latest.current = refresh;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = uploads.onUploaded((upload) => {
      if (upload.bucket !== bucket || timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        latest.current();
      }, 500);
    });
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
  }, [uploads, bucket]);
}
