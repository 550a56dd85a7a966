/**
 * The console's calls to the enforcer: same origin, the session cookie (HttpOnly, never seen
 * here), and the session's CSRF token on every write.
 */
export interface Me {
  name: string;
  roles: string[];
  csrfToken: string;
  expiresAtMs: number;
}

let csrfToken = '';

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : {};
  if (res.status === 401 && path !== '/ui/session') {
    // The session ended (expired, signed out elsewhere, enforcer restarted): back to sign-in.
    location.reload();
  }
  if (!res.ok) {
    throw new ApiError(
      res.status,
      data.code ?? 'HTTP',
      `${data.code ?? res.status}: ${data.message ?? ''}${data.details ? ` (${data.details})` : ''}`,
    );
  }
  return data as T;
}

export async function whoAmI(): Promise<Me | null> {
  const me = await call<Me | { signedIn: false }>('GET', '/ui/session');
  if (!('csrfToken' in me)) return null;
  csrfToken = me.csrfToken;
  return me;
}

export async function signIn(key: string): Promise<Me> {
  const me = await call<Me>('POST', '/ui/session', { key });
  csrfToken = me.csrfToken;
  return me;
}

export async function signOut(): Promise<void> {
  await call('DELETE', '/ui/session');
  csrfToken = '';
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
