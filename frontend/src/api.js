// The host's JSON API (documented in fortytwomin_snov/host/web.py).

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `The host answered with status ${status}.`);
    this.status = status;
    this.type = error?.type || 'Error';
    this.errors = error?.errors || [];
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api${path}`, init);
  } catch {
    throw new ApiError(0, { message: 'The host could not be reached: is `fortytwomin-snov serve` still running?' });
  }
  const document = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, document?.error);
  return document;
}

export const integrationPath = (slug, rest = '') => `/integrations/${encodeURIComponent(slug)}${rest}`;
