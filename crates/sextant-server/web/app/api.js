// The API client: adds the session's key, turns problem+json answers into ApiError, and reads
// server-sent events with fetch (EventSource cannot send an Authorization header).

const KEY = 'sextant.key';
export const getKey = () => sessionStorage.getItem(KEY);
export const setKey = (k) => sessionStorage.setItem(KEY, k);
export const clearKey = () => sessionStorage.clear();

/** An RFC 9457 problem from the API (status 0: the request never got an answer). */
export class ApiError extends Error {
  constructor(status, p) {
    const detail = (p && (p.detail || p.title)) || 'request failed';
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.title = (p && p.title) || '';
    this.detail = detail;
    this.type = (p && p.type) || '';
    this.errors = (p && Array.isArray(p.errors)) ? p.errors : [];
  }
}

/** True for a fetch abandoned because the page was left. */
export const aborted = (e) => e && (e.name === 'AbortError' || (e.name === 'ApiError' && e.status === -1));

function headers(extra) {
  const h = { Accept: 'application/json', ...extra };
  const k = getKey();
  if (k) h.Authorization = 'Bearer ' + k;
  return h;
}

let onUnauthorized = null;
/** Called with the error when a request with the session's key answers 401. */
export function setUnauthorizedHandler(f) { onUnauthorized = f; }

/**
 * `api('/backtests?limit=50')` → the parsed JSON body. Options: method, body (sent as JSON),
 * signal, full (resolve to {status, data} instead of data).
 */
export async function api(path, { method = 'GET', body, signal, full = false, quiet401 = false } = {}) {
  // Every API route needs a key: without one (logged out, or a page still running while the
  // session is cleared) the request is not sent.
  if (!getKey()) {
    const err = new ApiError(401, { title: 'Unauthorized', detail: 'log in with an API key' });
    if (!quiet401 && onUnauthorized) onUnauthorized(err);
    throw err;
  }
  const init = { method, signal, headers: headers(body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
  if (body !== undefined) init.body = JSON.stringify(body);
  let res;
  try {
    res = await fetch('/api/v1' + path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'Network error', detail: 'the server did not answer (' + (e && e.message) + ')' });
  }
  const ct = res.headers.get('content-type') || '';
  let data = null;
  try {
    data = ct.includes('json') ? await res.json() : await res.text();
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    data = null;
  }
  if (!res.ok) {
    const p = data && typeof data === 'object' ? data : { title: res.statusText, detail: (data || res.statusText || 'HTTP error') + '' };
    const err = new ApiError(res.status, p);
    if (res.status === 401 && !quiet401 && onUnauthorized) onUnauthorized(err);
    throw err;
  }
  return full ? { status: res.status, data } : data;
}

/**
 * Reads a `text/event-stream` response: calls `onEvent({event, data})` (data parsed as JSON
 * when it is JSON) per event until the server ends the stream or `signal` aborts it.
 */
export async function streamEvents(path, onEvent, signal) {
  let res;
  try {
    res = await fetch('/api/v1' + path, { headers: headers({ Accept: 'text/event-stream' }), signal, cache: 'no-store' });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'Network error', detail: String(e && e.message) });
  }
  if (!res.ok) {
    const p = await res.json().catch(() => null);
    throw new ApiError(res.status, p || { title: res.statusText });
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let ev = { event: 'message', data: [] };
  const dispatch = () => {
    if (ev.data.length) {
      const text = ev.data.join('\n');
      let data = text;
      try { data = JSON.parse(text); } catch (e) { /* plain text event */ }
      onEvent({ event: ev.event, data });
    }
    ev = { event: 'message', data: [] };
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let m;
    while ((m = /\r\n|\n|\r/.exec(buf))) {
      if (m[0] === '\r' && m.index === buf.length - 1) break; // maybe half of \r\n
      const line = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      if (line === '') dispatch();
      else if (line[0] !== ':') {
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let v = c < 0 ? '' : line.slice(c + 1);
        if (v[0] === ' ') v = v.slice(1);
        if (field === 'event') ev.event = v;
        else if (field === 'data') ev.data.push(v);
      }
    }
  }
  dispatch();
}

/**
 * Follows a job until it ends: `onUpdate(event)` per event; resolves with the last event
 * (status succeeded, failed or cancelled).
 */
export async function followJob(id, onUpdate, signal) {
  const done = (e) => e && ['succeeded', 'failed', 'cancelled'].includes(e.status);
  let last = null;
  for (let attempt = 0; attempt < 30 && !done(last); attempt++) {
    if (attempt) await new Promise((r) => setTimeout(r, 1000));
    if (signal && signal.aborted) throw new DOMException('aborted', 'AbortError');
    await streamEvents('/jobs/' + encodeURIComponent(id) + '/events', (e) => {
      if (e.data && typeof e.data === 'object') { last = e.data; onUpdate && onUpdate(e.data); }
    }, signal);
    if (!done(last)) {
      // The stream closed early (a restart, a proxy): read the job, then listen again.
      const job = await api('/jobs/' + encodeURIComponent(id), { signal });
      last = { job_id: job.id, status: job.status, progress: job.progress, result: job.result, error: job.error };
      onUpdate && onUpdate(last);
    }
  }
  return last;
}
