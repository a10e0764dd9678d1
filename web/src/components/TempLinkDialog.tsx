/**
 * A temporary link to one object: the user picks how long it lasts, the server signs it (the console never holds
 * the signing key), and anyone with the link reads the object without signing in until then.
 */
import { useRef, useState } from 'preact/hooks';
import { MAX_TEMP_LINK_SECONDS, signTempLink, type NoTempLinkKey } from '../api/buckets.ts';
import { encodeKey } from '../api/http.ts';
import { useI18n, useSession } from '../context.ts';
import { baseName, formatTime } from '../format.ts';
import type { MessageKey } from '../i18n.ts';
import { Dialog, ErrorNote } from './ui.tsx';

const PRESETS = [
  { id: 'hour', seconds: 3600, label: 'expiresHour' },
  { id: 'day', seconds: 24 * 3600, label: 'expiresDay' },
  { id: 'week', seconds: MAX_TEMP_LINK_SECONDS, label: 'expiresWeek' },
] as const satisfies readonly { id: string; seconds: number; label: MessageKey }[];

const UNITS = { seconds: 1, minutes: 60, hours: 3600, days: 24 * 3600 } as const;
type Unit = keyof typeof UNITS;
const UNIT_LABELS: Record<Unit, MessageKey> = { seconds: 'unitSeconds', minutes: 'unitMinutes', hours: 'unitHours', days: 'unitDays' };

type Choice = (typeof PRESETS)[number]['id'] | 'custom';

export function TempLinkDialog(props: { bucket: string; objectKey: string; onClose: () => void }) {
  const { t, lang } = useI18n();
  const { session } = useSession();
  const [choice, setChoice] = useState<Choice>('hour');
  const [amount, setAmount] = useState('30');
  const [unit, setUnit] = useState<Unit>('minutes');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [noKey, setNoKey] = useState<NoTempLinkKey | null>(null);
  const [link, setLink] = useState<{ url: string; expiresAt: number } | null>(null);
  const [copied, setCopied] = useState<'copied' | 'failed' | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const seconds = choice === 'custom' ? Number(amount) * UNITS[unit] : (PRESETS.find((preset) => preset.id === choice)?.seconds ?? 0);
  const problem: MessageKey | null = choice === 'custom' && (!/^\d+$/.test(amount.trim()) || seconds < 1 || seconds > MAX_TEMP_LINK_SECONDS) ? 'tempLinkExpiryInvalid' : null;

  const create = async (createKey: boolean): Promise<void> => {
    setBusy(true);
    setError(null);
    setCopied(null);
    try {
      const signed = await signTempLink(props.bucket, props.objectKey, seconds, createKey);
      if ('noKey' in signed) {
        setNoKey(signed);
      } else {
        setNoKey(null);
        setLink({ url: `${session.storageUrl}/${encodeURIComponent(props.bucket)}/${encodeKey(props.objectKey)}?${signed.query}`, expiresAt: Date.parse(signed.expires_at) });
        setTimeout(() => input.current?.focus(), 0);
      }
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };

  const copy = async (url: string): Promise<void> => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied('copied');
    } catch {
      input.current?.select();
      setCopied('failed');
    }
  };

  const changed = (): void => {
    setLink(null);
    setCopied(null);
  };

  return (
    <Dialog title={t('tempLink')} onClose={props.onClose}>
      <form class="form" data-temp-link onSubmit={(event) => {
        event.preventDefault();
        void create(false);
      }}>
        <p class="muted">{t('tempLinkIntro', { name: baseName(props.objectKey) })}</p>
        <fieldset class="choice">
          <legend>{t('tempLinkExpiry')}</legend>
          {[...PRESETS, { id: 'custom', label: 'expiresCustom' } as const].map((preset) => (
            <label key={preset.id}>
              <input type="radio" name="expiry" value={preset.id} checked={choice === preset.id} onChange={() => {
                setChoice(preset.id);
                changed();
              }} />
              {t(preset.label)}
            </label>
          ))}
          {choice === 'custom' && (
            <div class="custom-expiry">
              <input type="number" min={1} inputMode="numeric" name="amount" aria-label={t('tempLinkAmount')} value={amount} aria-invalid={problem !== null} aria-describedby="temp-link-hint" onInput={(e) => {
                setAmount(e.currentTarget.value);
                changed();
              }} />
              <select name="unit" aria-label={t('tempLinkUnit')} value={unit} onChange={(e) => {
                setUnit(e.currentTarget.value as Unit);
                changed();
              }}>
                {(Object.keys(UNITS) as Unit[]).map((name) => (
                  <option key={name} value={name}>
                    {t(UNIT_LABELS[name])}
                  </option>
                ))}
              </select>
            </div>
          )}
        </fieldset>
        <p id="temp-link-hint" class={problem ? 'hint invalid' : 'hint'}>
          {t(problem ?? 'tempLinkMax')}
        </p>
        {noKey && (
          <div class="error" role="alert" data-no-key>
            <strong>{t(noKey.mayCreate ? 'tempLinkNoKeyCreate' : 'tempLinkNoKeyAsk')}</strong>
            {noKey.mayCreate && (
              <div class="buttons left">
                <button type="button" disabled={busy || problem !== null} onClick={() => void create(true)}>
                  {t('tempLinkCreateKey')}
                </button>
              </div>
            )}
          </div>
        )}
        <ErrorNote error={error} explain={{ forbidden: 'tempLinkForbidden' }} />
        {!link && (
          <div class="buttons">
            <button type="button" class="secondary" onClick={props.onClose}>
              {t('cancel')}
            </button>
            <button type="submit" disabled={busy || problem !== null}>
              {t('tempLinkCreate')}
            </button>
          </div>
        )}
      </form>
      {link && (
        <section class="location" aria-label={t('tempLink')}>
          <div class="copy-row">
            <input ref={input} readOnly value={link.url} aria-label={t('tempLink')} data-temp-link-url onFocus={(e) => {
              e.currentTarget.select();
            }} />
            <button type="button" onClick={() => void copy(link.url)}>
              {t('copyUrl')}
            </button>
          </div>
          <p class="muted" data-expires-at={new Date(link.expiresAt).toISOString()}>
            {t('tempLinkValidUntil', { time: formatTime(link.expiresAt, lang) })}
          </p>
          {copied && (
            <p role="status" class="muted">
              {t(copied === 'copied' ? 'urlCopied' : 'urlCopyManually')}
            </p>
          )}
          <div class="buttons">
            <button type="button" onClick={props.onClose}>
              {t('close')}
            </button>
          </div>
        </section>
      )}
    </Dialog>
  );
}
