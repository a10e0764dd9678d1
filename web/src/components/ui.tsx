/** Building blocks shared by the screens: dialog, error note, language switch, metadata rows. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Problem } from '../api/http.ts';
import { useI18n } from '../context.ts';
import type { MessageKey } from '../i18n.ts';

/**
 * Gives the focus back, once a dialog or panel has closed, to `opener` (what had the focus when it opened: the
 * button or link that opened it); when that is gone or disabled, to the page's main heading.
 */
export function returnFocus(opener: Element | null): void {
  setTimeout(() => {
    // Another dialog or panel opened meanwhile and holds the focus: leave it there.
    if (document.activeElement?.closest('dialog[open], .info-panel')) return;
    if (opener instanceof HTMLElement && opener.isConnected && !(opener instanceof HTMLButtonElement && opener.disabled)) opener.focus();
    else focusMainHeading();
  }, 0);
}

export function focusMainHeading(): void {
  document.querySelector<HTMLElement>('main h1')?.focus();
}

/** What had the focus when the calling component first rendered; the focus goes back there when it goes away. */
export function useReturnFocus(): void {
  const [opener] = useState(() => document.activeElement);
  useEffect(() => () => {
    returnFocus(opener);
  }, [opener]);
}

/** A modal <dialog>: focus stays inside, Escape closes it, and the focus goes back to what opened it. */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useReturnFocus();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const { t } = useI18n();
  return (
    <dialog
      ref={ref}
      class={props.wide ? 'dialog wide' : 'dialog'}
      aria-label={props.title}
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
    >
      <header class="dialog-head">
        <h2>{props.title}</h2>
        <button type="button" class="icon" aria-label={t('close')} onClick={props.onClose}>
          ×
        </button>
      </header>
      {props.children}
    </dialog>
  );
}

const PROBLEM_TEXT: Record<Problem, MessageKey> = {
  signedOut: 'errSignedOut',
  forbidden: 'errForbidden',
  notFound: 'errNotFound',
  conflict: 'errConflict',
  tooLarge: 'errTooLarge',
  invalid: 'errInvalid',
  network: 'errNetwork',
  server: 'errServer',
};

/** Codes that mean the same wherever they come from. */
const COMMON_CODES: Record<string, MessageKey> = {
  ObjectLocked: 'errObjectLocked',
};

/** An error in plain words where it happened, with the server's own message under it. */
export function ErrorNote(props: { error: unknown; explain?: Partial<Record<Problem, MessageKey>>; codes?: Record<string, MessageKey>; children?: ComponentChildren }) {
  const { t, lang } = useI18n();
  if (props.error === null || props.error === undefined) return null;
  if (props.error instanceof DOMException && props.error.name === 'AbortError') return null;
  const apiError = props.error instanceof ApiError ? props.error : null;
  // An error of the console's own (not the server's) is already in the user's words.
  const own = !apiError && props.error instanceof Error ? props.error.message : null;
  const problem = apiError?.problem ?? 'server';
  // The server and the browser speak English: their words follow the explanation in English only.
  const detail = apiError && lang === 'en' ? apiError.detail : '';
  return (
    <div class="error" role="alert">
      <strong>{own ?? t((apiError && (props.codes?.[apiError.code] ?? COMMON_CODES[apiError.code])) ?? props.explain?.[problem] ?? PROBLEM_TEXT[problem])}</strong>
      {detail && <span class="detail">{detail}</span>}
      {props.children}
    </div>
  );
}

/** A short "done" message where the action was started, until the next one or until closed. */
export function Notice(props: { text: string | null; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <div class="notice-slot" role="status">
      {props.text !== null && (
        <p class="notice success" data-notice>
          <span>{props.text}</span>
          <button type="button" class="icon" aria-label={t('dismiss')} onClick={props.onClose}>
            ×
          </button>
        </p>
      )}
    </div>
  );
}

export function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <button type="button" class="lang" title={t('switchLanguage')} onClick={() => {
      setLang(lang === 'ko' ? 'en' : 'ko');
    }}>
      {/* The accessible name is the visible one (the language offered), then what the button does. */}
      <span lang={lang === 'ko' ? 'en' : 'ko'}>{lang === 'ko' ? 'English' : '한국어'}</span>
      <span class="sr-only"> ({t('switchLanguage')})</span>
    </button>
  );
}

export interface MetaRow {
  name: string;
  value: string;
}

const META_NAME = /^[A-Za-z0-9-]+$/;
/** The object API's limits (src/core/constraints.ts); values travel as UTF-8 bytes. */
const MAX_META_NAME = 128;
const MAX_META_VALUE_BYTES = 256;
const MAX_META_COUNT = 90;
const MAX_META_BYTES = 4096;

export function metaRowProblem(rows: readonly MetaRow[]): MessageKey | null {
  const names = new Set<string>();
  const bytes = (text: string): number => new TextEncoder().encode(text).length;
  let total = 0;
  for (const row of rows) {
    if (row.name === '' && row.value === '') continue;
    if (!META_NAME.test(row.name)) return 'metaNameInvalid';
    if (row.name.length > MAX_META_NAME) return 'metaNameLong';
    if (names.has(row.name.toLowerCase())) return 'metaNameDuplicate';
    if (bytes(row.value) > MAX_META_VALUE_BYTES) return 'metaValueLong';
    names.add(row.name.toLowerCase());
    total += row.name.length + bytes(row.value);
  }
  if (names.size > MAX_META_COUNT) return 'metaTooMany';
  if (total > MAX_META_BYTES) return 'metaTooLarge';
  return null;
}

export function metaOf(rows: readonly MetaRow[]): Record<string, string> {
  return Object.fromEntries(rows.filter((row) => row.name !== '').map((row) => [row.name, row.value]));
}

/** Editable user metadata: one name/value pair per row. */
export function MetaRows(props: { rows: MetaRow[]; onChange: (rows: MetaRow[]) => void }) {
  const { t } = useI18n();
  const update = (index: number, change: Partial<MetaRow>): void => {
    props.onChange(props.rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  };
  return (
    <fieldset class="meta-rows">
      <legend>{t('metadata')}</legend>
      {props.rows.map((row, index) => (
        <div class="meta-row" key={index}>
          <input aria-label={t('metaName')} placeholder={t('metaName')} value={row.name} onInput={(e) => {
            update(index, { name: e.currentTarget.value });
          }} />
          <input aria-label={t('metaValue')} placeholder={t('metaValue')} value={row.value} onInput={(e) => {
            update(index, { value: e.currentTarget.value });
          }} />
          <button type="button" class="icon" aria-label={t('removeRow')} onClick={() => {
            props.onChange(props.rows.filter((_, i) => i !== index));
          }}>
            −
          </button>
        </div>
      ))}
      <button type="button" class="secondary small" onClick={() => {
        props.onChange([...props.rows, { name: '', value: '' }]);
      }}>
        {t('addMetadata')}
      </button>
    </fieldset>
  );
}
