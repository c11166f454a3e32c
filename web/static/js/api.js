// The sluice HTTP API as the pages use it. Every call goes through request,
// which adds the admin token and turns error replies into ApiError.

const TOKEN_KEY = 'sluice.adminToken';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || '',
  set(v) {
    if (v) sessionStorage.setItem(TOKEN_KEY, v);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

// ApiError is a reply other than 2xx; body is the decoded JSON, when any.
export class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function describe(status, body, text) {
  if (status === 401) {
    return token.get()
      ? 'The server refused the admin token. Check it in “Admin token” at the top of the page.'
      : 'The server needs an admin token for this. Enter it in “Admin token” at the top of the page.';
  }
  const msg = (body && (body.error || body.message)) || text.trim();
  return msg || `The server answered ${status}.`;
}

async function request(method, path, { body, type } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = type || 'application/json';
  const t = token.get();
  if (t) headers.Authorization = `Bearer ${t}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, null, `Cannot reach the sluice server (${err.message}).`);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, data, describe(res.status, data, text));
  return data;
}

const q = (name) => `/v1/queries/${encodeURIComponent(name)}`;

export const api = {
  queries: () => request('GET', '/v1/queries'),
  query: (name) => request('GET', q(name)),
  deploy: (sql) => request('POST', '/v1/queries', { body: sql, type: 'text/plain; charset=utf-8' }),
  replace: (name, sql) => request('PUT', q(name), { body: sql, type: 'text/plain; charset=utf-8' }),
  remove: (name) => request('DELETE', q(name)),
  resultsURL: (names) => `/v1/results?${new URLSearchParams(names.map((n) => ['query', n]))}`,
  streams: () => request('GET', '/v1/streams'),
  tail: (stream) => request('GET', `/v1/streams/${encodeURIComponent(stream)}/tail`),
  dashboard: () => request('GET', '/v1/dashboard'),
  saveDashboard: (doc) => request('PUT', '/v1/dashboard', { body: JSON.stringify(doc) }),
  functions: () => request('GET', '/v1/functions'),
};
