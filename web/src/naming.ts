/** Bucket name rules of the server's active naming profile (from `GET /info`), checked as the user types. */
import type { MessageKey } from './i18n.ts';

export interface NamingRules {
  profile: string;
  pattern: RegExp;
  minLength: number;
  maxLength: number;
  reserved: ReadonlySet<string>;
}

/** KakaoCloud's rules, used when the server does not publish its own. */
const KAKAOCLOUD: NamingRules = {
  profile: 'kakaocloud',
  pattern: /^[a-z0-9][a-z0-9-]{2,61}[a-z0-9]$/,
  minLength: 4,
  maxLength: 63,
  reserved: new Set(['identity', 'v1_ext', 'v1', 'info', 'console', 'healthz', 'readyz', 'metrics', 'swagger', 'status', 'ping']),
};

interface InfoBody {
  onggi?: { bucket_naming?: { profile?: string; pattern?: string; min_length?: number; max_length?: number; reserved?: string[] } };
}

export async function loadNamingRules(): Promise<NamingRules> {
  try {
    const response = await fetch('/info');
    const naming = ((await response.json()) as InfoBody).onggi?.bucket_naming;
    if (!naming?.pattern) return KAKAOCLOUD;
    return {
      profile: naming.profile ?? 'custom',
      pattern: new RegExp(naming.pattern, 'u'),
      minLength: naming.min_length ?? 1,
      maxLength: naming.max_length ?? 256,
      reserved: new Set(naming.reserved ?? []),
    };
  } catch {
    return KAKAOCLOUD;
  }
}

/** The first rule the name breaks, as a message key; null when the name is acceptable. */
export function nameProblem(name: string, rules: NamingRules): MessageKey | null {
  if (name === '') return 'nameRequired';
  if (rules.reserved.has(name)) return 'nameReserved';
  if (name.length < rules.minLength || name.length > rules.maxLength) return 'nameLength';
  if (rules.pattern.test(name)) return null;
  if (rules.profile !== 'kakaocloud') return 'nameInvalid';
  if (/[^a-z0-9-]/.test(name)) return 'nameChars';
  return 'nameEdges';
}
