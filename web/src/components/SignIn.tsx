/** Sign-in with an IAM access key ID and secret: the token is kept in this tab's session storage only. */
import { useState } from 'preact/hooks';
import { signIn, type Session } from '../api/iam.ts';
import { useI18n } from '../context.ts';
import type { MessageKey } from '../i18n.ts';
import { ErrorNote, LangSwitch } from './ui.tsx';

export function SignIn(props: { notice: MessageKey | null; onSignedIn: (session: Session) => void }) {
  const { t } = useI18n();
  const [accessKeyId, setAccessKeyId] = useState('');
  const [secret, setSecret] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await signIn(accessKeyId.trim(), secret));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form class="card" onSubmit={(event) => void submit(event)}>
        <div class="signin-head">
          <h1>{t('appTitle')}</h1>
          <LangSwitch />
        </div>
        <p class="muted">{t('signInIntro')}</p>
        {props.notice && (
          <p class="notice" role="status">
            {t(props.notice)}
          </p>
        )}
        <label>
          {t('accessKeyId')}
          <input name="accessKeyId" autocomplete="username" required value={accessKeyId} onInput={(e) => {
            setAccessKeyId(e.currentTarget.value);
          }} />
        </label>
        <label>
          {t('secretAccessKey')}
          <input name="secret" type="password" autocomplete="current-password" required value={secret} onInput={(e) => {
            setSecret(e.currentTarget.value);
          }} />
        </label>
        <ErrorNote error={error} explain={{ signedOut: 'errBadCredentials', notFound: 'errBadCredentials' }} />
        <button type="submit" disabled={busy}>
          {busy ? t('signingIn') : t('signIn')}
        </button>
      </form>
    </main>
  );
}
