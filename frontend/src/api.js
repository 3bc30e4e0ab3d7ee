// The host's JSON API (documented in fortytwomin_snov/host/web.py).

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `The host answered with status ${status}.`);
    this.status = status;
    this.type = error?.type || 'Error';
    this.errors = error?.errors || [];
  }
}

// The session's CSRF token (from /api/me), sent with every write; the cookie alone is not
// enough to change anything.
let csrfToken = null;
export function setCsrfToken(token) {
  csrfToken = token;
}

// Told when the host answers 401: the session ended (signed out, user removed, expired).
let onSignedOut = () => {};
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export async function api(path, { method = 'GET', body } = {}) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && csrfToken) init.headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(`/api${path}`, init);
  } catch {
    throw new ApiError(0, { message: 'The host could not be reached: is `fortytwomin-snov serve` still running?' });
  }
  const document = await response.json().catch(() => null);
  if (response.status === 401 && path !== '/me') onSignedOut();
  if (!response.ok) throw new ApiError(response.status, document?.error);
  return document;
}

export const integrationPath = (slug, rest = '') => `/integrations/${encodeURIComponent(slug)}${rest}`;
