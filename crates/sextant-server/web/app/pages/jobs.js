// #/jobs: the job queue, live progress of running jobs over SSE (read with fetch), cancel.
import { api, streamEvents, aborted } from '../api.js';
import { el, pct, when, alertBox } from '../fmt.js';

const ACTIVE = new Set(['queued', 'running']);
const MAX_STREAMS = 3; // HTTP/1.1 allows 6 connections per host; leave room for the page

export async function render(root, ctx) {
  const alerts = el('div', { 'aria-live': 'polite' });
  const workers = el('section', { id: 'workers', 'aria-label': 'Where jobs run' });
  const tbody = el('tbody');
  const refresh = el('button', { type: 'button', class: 'ghost', id: 'refresh' }, 'Refresh');
  const more = el('button', { type: 'button', class: 'ghost', hidden: true }, 'Load more');
  root.append(el('div', { class: 'head' }, el('h1', null, 'Jobs'), refresh),
    el('p', { class: 'muted small' }, 'Long work (large backtests, walk-forwards, studies, training, ingests) runs as jobs. Running jobs update live.'),
    alerts,
    workers,
    el('div', { class: 'table-wrap' }, el('table', { id: 'jobs' },
      el('caption', { class: 'sr-only' }, 'Jobs, newest first'),
      el('thead', null, el('tr', null, ['Job', 'Kind', 'Status', 'Progress', 'Created', 'Finished', 'Owner', ''].map((h) => el('th', { scope: 'col' }, h)))),
      tbody)),
    more);

  const streams = new Map();
  let cursor = null;

  const follow = (job, row) => {
    if (streams.size >= MAX_STREAMS || streams.has(job.id)) return;
    const ctrl = new AbortController();
    ctx.signal.addEventListener('abort', () => ctrl.abort());
    streams.set(job.id, ctrl);
    streamEvents('/jobs/' + encodeURIComponent(job.id) + '/events', (e) => {
      if (!e.data || typeof e.data !== 'object') return;
      update(row, { ...job, ...e.data, id: job.id });
      // Terminal: read the job once more for its finish time and result.
      if (!ACTIVE.has(e.data.status)) api('/jobs/' + encodeURIComponent(job.id), { signal: ctrl.signal }).then((j) => update(row, j), () => {});
    }, ctrl.signal).catch((e) => {
      if (!aborted(e)) row.querySelector('.msg').textContent = 'live updates stopped: ' + e.message;
    }).finally(() => streams.delete(job.id));
  };

  const update = (row, j) => {
    const st = row.querySelector('[data-status]');
    st.textContent = j.status;
    st.dataset.status = j.status;
    st.className = 'badge ' + ({ succeeded: 'ok', failed: 'bad', cancelled: 'warn' }[j.status] || '');
    const frac = (j.progress && j.progress.fraction) || 0;
    row.querySelector('progress').value = frac;
    row.querySelector('.msg').textContent = pct(frac, 0) + (j.progress && j.progress.message ? ' · ' + j.progress.message : '') + (j.error ? ' · ' + j.error : '');
    row.querySelector('[data-action=cancel]').hidden = !ACTIVE.has(j.status);
    if (j.finished_at) row.querySelector('.fin').textContent = when(j.finished_at);
    const link = resultLink(j.result);
    if (link && !row.querySelector('.result')) row.querySelector('.msg').after(el('div', { class: 'result' }, link));
  };

  const rowFor = (j) => {
    const cancel = el('button', { type: 'button', class: 'small danger', 'data-action': 'cancel', hidden: !ACTIVE.has(j.status) }, 'Cancel');
    const details = el('button', { type: 'button', class: 'small ghost', 'aria-expanded': 'false' }, 'Details');
    const row = el('tr', { 'data-id': j.id },
      el('td', null, el('code', null, j.id.slice(0, 8)), el('span', { class: 'sr-only' }, j.id)),
      el('td', null, j.kind),
      el('td', null, el('span', { 'data-status': j.status, class: 'badge' }, j.status)),
      el('td', null, el('progress', { max: 1, value: 0, 'aria-label': 'Progress of job ' + j.id }), el('div', { class: 'msg muted small' })),
      el('td', null, when(j.created_at)),
      el('td', { class: 'fin' }, j.finished_at ? when(j.finished_at) : '—'),
      el('td', null, el('code', null, j.owner || '—')),
      el('td', null, el('div', { class: 'toolbar', style: 'margin:0' }, cancel, details)));
    update(row, j);
    cancel.addEventListener('click', async () => {
      alerts.replaceChildren();
      cancel.disabled = true;
      try {
        const res = await api('/jobs/' + encodeURIComponent(j.id) + '/cancel', { method: 'POST', signal: ctx.signal });
        update(row, { ...j, ...res });
      } catch (e) {
        if (aborted(e)) return;
        alerts.append(e.status === 403 ? el('div', { role: 'alert', class: 'alert' }, 'Refused: ' + e.detail + ' (403)') : alertBox(e));
      }
      cancel.disabled = false;
    });
    details.addEventListener('click', async () => {
      const next = row.nextElementSibling;
      if (next && next.classList.contains('job-detail')) { next.remove(); details.setAttribute('aria-expanded', 'false'); return; }
      details.setAttribute('aria-expanded', 'true');
      const cell = el('td', { colspan: 8 }, 'Loading…');
      row.after(el('tr', { class: 'job-detail' }, cell));
      try {
        const full = await api('/jobs/' + encodeURIComponent(j.id), { signal: ctx.signal });
        cell.replaceChildren(el('pre', { class: 'json' }, JSON.stringify({ params: full.params, result: full.result, error: full.error, attempts: full.attempts }, null, 2)));
      } catch (e) { if (!aborted(e)) cell.replaceChildren(alertBox(e)); }
    });
    if (ACTIVE.has(j.status)) follow(j, row);
    return row;
  };

  const load = async (reset) => {
    if (reset) { cursor = null; for (const c of streams.values()) c.abort(); streams.clear(); }
    const page = await api('/jobs?limit=50' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''), { signal: ctx.signal });
    const rows = (page.items || []).map(rowFor);
    if (reset) tbody.replaceChildren(...rows); else tbody.append(...rows);
    if (!tbody.children.length) tbody.append(el('tr', null, el('td', { colspan: 8, class: 'empty' }, 'No jobs.')));
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
  };
  const guarded = (reset) => async () => {
    alerts.replaceChildren();
    try { await load(reset); } catch (e) { if (!aborted(e)) alerts.append(alertBox(e)); }
  };
  refresh.addEventListener('click', guarded(true));
  refresh.addEventListener('click', () => showWorkers(workers, ctx.signal));
  more.addEventListener('click', guarded(false));
  await Promise.all([load(true), showWorkers(workers, ctx.signal)]);
}

// The job transport from /ready: the in-process pool, or the NATS workers with their load.
async function showWorkers(box, signal) {
  let ready;
  try {
    const res = await fetch('/ready', { signal, cache: 'no-store' });
    ready = await res.json();
  } catch (e) {
    if (!aborted(e)) box.replaceChildren(el('p', { class: 'muted small' }, 'Worker state unavailable: ' + e.message));
    return;
  }
  const jobs = ready.jobs || {};
  if (jobs.transport !== 'nats') {
    box.replaceChildren(el('p', { class: 'muted small' }, 'Jobs run in this server’s own pool (no NATS queue configured).'));
    return;
  }
  const list = jobs.workers || [];
  const head = el('p', { class: 'small' }, 'NATS ', el('span', { class: 'badge ' + (jobs.nats_connected ? 'ok' : 'bad') }, jobs.nats_connected ? 'connected' : 'disconnected'),
    ' · ' + list.length + ' live worker' + (list.length === 1 ? '' : 's'));
  const rows = list.map((w) => el('tr', null,
    el('td', null, el('code', null, w.id)),
    el('td', null, (w.kinds || []).join(', ')),
    el('td', null, w.running + ' / ' + w.concurrency),
    el('td', null, el('span', { class: 'badge ' + (w.state === 'active' ? 'ok' : 'warn') }, w.state)),
    el('td', null, when(w.heartbeat_at))));
  box.replaceChildren(head, list.length ? el('div', { class: 'table-wrap' }, el('table', { id: 'worker-table' },
    el('caption', { class: 'sr-only' }, 'Live workers'),
    el('thead', null, el('tr', null, ['Worker', 'Kinds', 'Running', 'State', 'Heartbeat'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', null, ...rows))) : el('p', { class: 'muted small' }, 'No worker has a fresh heartbeat: jobs that travel wait in the queue.'));
}

function resultLink(r) {
  if (!r || typeof r !== 'object') return null;
  if (r.run_id) return el('a', { href: '#/backtests/' + r.run_id }, 'Open backtest');
  if (r.study_id) return el('a', { href: '#/studies/' + r.study_id }, 'Open study');
  if (r.model_id) return el('a', { href: '#/models?id=' + encodeURIComponent(r.model_id) }, 'Open model');
  return null;
}
