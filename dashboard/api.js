// The public /v1 API with the bearer token. The token is asked for once per tab (only when this
// memoryd requires one, or when an answer says 401), kept in sessionStorage and sent as a
// header: never in a URL, never in a cookie.

const KEY = 'memoryd.token';
const authRequired = document.querySelector('meta[name="memoryd-auth"]')?.content === 'required';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || ('HTTP ' + status));
    this.status = status;
    this.code = code || 'error';
  }
}

let pending = null;  // the prompt on screen, shared by every call that needs it

function askToken(reason) {
  if (pending) return pending;
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const error = document.getElementById('token-error');
  error.hidden = !reason;
  error.textContent = reason || '';
  input.value = '';
  dialog.hidden = false;
  input.focus();
  pending = new Promise(resolve => {
    form.addEventListener('submit', e => {
      e.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      sessionStorage.setItem(KEY, token);
      dialog.hidden = true;
      pending = null;
      resolve();
    }, { once: true });
  });
  return pending;
}

export async function ensureToken() {
  if (authRequired && !sessionStorage.getItem(KEY)) await askToken('');
}

export async function api(method, path, body) {
  await ensureToken();
  for (let tries = 0; tries < 5; tries++) {
    const headers = { Accept: 'application/json' };
    const token = sessionStorage.getItem(KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, {
      method, headers, cache: 'no-store', credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      await askToken(token ? 'That token was not accepted.' : '');
      continue;
    }
    if (!res.ok) {
      const err = data && data.error ? data.error : {};
      throw new ApiError(res.status, err.code, err.message);
    }
    return data;
  }
  throw new ApiError(401, 'unauthorized', 'no accepted token');
}

export const get = path => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const del = path => api('DELETE', path);

export const userPath = id => '/v1/users/' + encodeURIComponent(id);
