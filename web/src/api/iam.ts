/** Sign-in: an access key ID and secret exchanged for a token at the IAM API, as KakaoCloud's guide does it. */
import { fromWireHeader, request } from './http.ts';

export interface Session {
  token: string;
  expiresAt: number;
  projectId: string;
  projectName: string;
  userName: string;
  /** The caller's role in the project (admin, member, reader). */
  role: string;
  /** `{endpoint}/v1/{project}`: the object API base that object URLs start with. */
  storageUrl: string;
}

interface TokenBody {
  token: {
    expires_at: string;
    project: { id: string; name?: string };
    user?: { name?: string };
    roles?: { name: string }[];
    catalog?: { type: string; endpoints: { interface: string; url: string }[] }[];
  };
}

export async function signIn(accessKeyId: string, secret: string): Promise<Session> {
  const response = await request('POST', '/identity/v3/auth/tokens', {
    json: { auth: { identity: { methods: ['application_credential'], application_credential: { id: accessKeyId, secret } } } },
  });
  const token = fromWireHeader(response.headers.get('X-Subject-Token') ?? '');
  const body = (await response.json()) as TokenBody;
  const { project } = body.token;
  return {
    token,
    expiresAt: Date.parse(body.token.expires_at),
    projectId: project.id,
    projectName: project.name ?? project.id,
    userName: body.token.user?.name ?? '',
    role: body.token.roles?.[0]?.name ?? '',
    storageUrl: storageUrlOf(body, project.id),
  };
}

function storageUrlOf(body: TokenBody, projectId: string): string {
  const service = body.token.catalog?.find((entry) => entry.type === 'object-store');
  const url = service?.endpoints.find((endpoint) => endpoint.interface === 'public')?.url;
  return (url ?? `${location.origin}/v1/${encodeURIComponent(projectId)}`).replace(/\/+$/, '');
}

const STORAGE_KEY = 'onggi.session';

/** The session lives in this tab's session storage only: closing the tab forgets the token. */
export function savedSession(): Session | null {
  try {
    const session = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Session | null;
    return session && session.expiresAt > Date.now() ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
}
