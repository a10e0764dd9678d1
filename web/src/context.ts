/** What every screen reads: the language, and (once signed in) the session with its object API. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ObjectApi } from './api/objects.ts';
import type { Session } from './api/iam.ts';
import type { Lang, Translate } from './i18n.ts';
import type { DownloadQueue } from './downloads.ts';
import type { UploadQueue } from './uploads.ts';

export interface I18n {
  lang: Lang;
  t: Translate;
  setLang: (lang: Lang) => void;
}

export interface SignedIn {
  session: Session;
  objects: ObjectApi;
  uploads: UploadQueue;
  downloads: DownloadQueue;
  signOut: () => void;
}

export const I18nContext = createContext<I18n | null>(null);
export const SessionContext = createContext<SignedIn | null>(null);

export function useI18n(): I18n {
  const i18n = useContext(I18nContext);
  if (!i18n) throw new Error('useI18n outside I18nContext');
  return i18n;
}

export function useSession(): SignedIn {
  const signedIn = useContext(SessionContext);
  if (!signedIn) throw new Error('useSession outside SessionContext');
  return signedIn;
}
