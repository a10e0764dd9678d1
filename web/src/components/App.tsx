/** The console: sign-in until there is a session, then the screen the URL names. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { setSessionToken } from '../api/http.ts';
import { saveSession, savedSession, type Session } from '../api/iam.ts';
import { ObjectApi } from '../api/objects.ts';
import { I18nContext, SessionContext, useI18n, useSession, type SignedIn } from '../context.ts';
import { initialLang, saveLang, translator, type Lang, type MessageKey } from '../i18n.ts';
import { hrefOf, followLink, useRoute } from '../router.ts';
import { DownloadQueue } from '../downloads.ts';
import { UploadQueue, useUploadQueue } from '../uploads.ts';
import { BucketList } from './BucketList.tsx';
import { BucketPage } from './BucketPage.tsx';
import { SignIn } from './SignIn.tsx';
import { focusMainHeading, LangSwitch } from './ui.tsx';
import { DownloadPanel, UploadPanel } from './UploadPanel.tsx';

export function App() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const [session, setSession] = useState<Session | null>(savedSession);
  const [notice, setNotice] = useState<MessageKey | null>(null);
  const signedInRef = useRef<SignedIn | null>(null);
  const i18n = useMemo(() => ({ lang, t: translator(lang), setLang: (next: Lang) => {
    saveLang(next);
    setLang(next);
  } }), [lang]);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = i18n.t('appTitle');
  }, [lang, i18n]);

  const end = (reason: MessageKey | null): void => {
    signedInRef.current?.uploads.cancelAll();
    setSessionToken(null, null);
    saveSession(null);
    setSession(null);
    setNotice(reason);
  };
  // Set before any child renders, so the first requests of a restored session carry the token.
  setSessionToken(session?.token ?? null, session ? () => {
    end('sessionEnded');
  } : null);
  useSessionExpiry(session, () => {
    end('sessionExpired');
  });

  const signedIn = useMemo<SignedIn | null>(
    () => {
      if (!session) return null;
      const objects = new ObjectApi(session.projectId);
      return { session, objects, uploads: new UploadQueue(objects), downloads: new DownloadQueue(objects), signOut: () => {
        end('signedOut');
      } };
    },
    [session],
  );

  signedInRef.current = signedIn;

  return (
    <I18nContext.Provider value={i18n}>
      {signedIn ? (
        <SessionContext.Provider value={signedIn}>
          <Shell />
        </SessionContext.Provider>
      ) : (
        <SignIn
          notice={notice}
          onSignedIn={(next) => {
            focusHeadingOnStart = true;
            saveSession(next);
            setNotice(null);
            setSession(next);
          }}
        />
      )}
    </I18nContext.Provider>
  );
}

/** Ends the session when its token's lifetime is over, even if no request notices. */
function useSessionExpiry(session: Session | null, expired: () => void): void {
  useEffect(() => {
    if (!session) return;
    const timer = setTimeout(expired, Math.max(0, session.expiresAt - Date.now()));
    return () => {
      clearTimeout(timer);
    };
  }, [session]);
}

/** Set by a sign-in: the first screen after it puts the focus on its main heading. */
let focusHeadingOnStart = false;

function Shell() {
  const { t } = useI18n();
  const { session, signOut, uploads, downloads } = useSession();
  const route = useRoute();
  const topbar = useRef<HTMLElement>(null);
  useUploadQueue(uploads);
  useUploadQueue(downloads);
  useEffect(() => {
    if (focusHeadingOnStart) {
      focusHeadingOnStart = false;
      focusMainHeading();
    }
    // The information panel starts below the top bar, whose height changes as it wraps.
    const bar = topbar.current;
    if (!bar) return;
    const observer = new ResizeObserver(() => {
      document.documentElement.style.setProperty('--topbar-height', `${bar.offsetHeight}px`);
    });
    observer.observe(bar);
    return () => {
      observer.disconnect();
    };
  }, []);
  return (
    <div class="shell">
      <header class="topbar" ref={topbar}>
        <a class="brand" href={hrefOf({ page: 'buckets', search: '' })} onClick={followLink}>
          {t('appName')}
        </a>
        <span class="project" title={session.projectId}>
          <span class="label">{t('project')}</span> <strong data-project-id={session.projectId}>{session.projectName}</strong>
          <span class="project-id">{session.projectId}</span>
        </span>
        <span class="spacer" />
        <span class="user">{session.userName}{session.role && ` · ${session.role}`}</span>
        <LangSwitch />
        <button type="button" class="secondary" onClick={signOut}>
          {t('signOut')}
        </button>
      </header>
      <main class="content">
        {route.page === 'buckets' ? <BucketList search={route.search} /> : <BucketPage route={route} />}
        <div class="transfers">
          <UploadPanel queue={uploads} />
          <DownloadPanel queue={downloads} />
        </div>
      </main>
    </div>
  );
}
