// #/quality: the review queue of held bars (approve/reject is an admin's call), flag counts.
import { api, aborted } from '../api.js';
import { el, num, int, sig, day, when, kpi, card, table, alertBox } from '../fmt.js';

export async function render(root, ctx) {
  const o = { signal: ctx.signal };
  const [summary, queue, flags, role] = await Promise.all([
    api('/quality/summary', o),
    api('/quality/quarantine?status=pending&limit=200', o),
    api('/quality/flags?limit=50', o),
    ctx.role(),
  ]);
  const admin = role === 'admin';
  const sev = summary.flags_by_severity || {};
  const alerts = el('div', { id: 'review-alerts', 'aria-live': 'polite' });
  const pendingKpi = kpi('Pending review', int(summary.pending), summary.pending ? 'neg' : '');
  root.append(el('h1', null, 'Data quality'),
    el('div', { class: 'kpis', id: 'quality-summary' },
      pendingKpi, kpi('Approved', int(summary.approved)), kpi('Rejected', int(summary.rejected)),
      ...Object.entries(sev).map(([k, v]) => kpi('Flags: ' + k, int(v), k === 'critical' ? 'neg' : '')),
      kpi('Gaps', int(summary.gaps)), kpi('Missing bars', int(summary.missing_bars))));

  const items = queue.items || [];
  const badge = () => (admin ? null : el('span', { class: 'badge warn', title: 'Approving or rejecting needs an admin key' }, 'admin only'));
  let pending = summary.pending || 0;
  const review = async (row, item, action, buttons) => {
    alerts.replaceChildren();
    for (const b of buttons) b.disabled = true;
    try {
      await api('/quality/quarantine/' + item.id + '/' + action, { method: 'POST', body: {}, signal: ctx.signal });
      const status = row.querySelector('[data-status]');
      status.textContent = action === 'approve' ? 'approved' : 'rejected';
      status.dataset.status = status.textContent;
      pending = Math.max(0, pending - 1);
      pendingKpi.querySelector('.kpi-v').textContent = int(pending);
      alerts.append(el('p', { role: 'status', class: 'note' }, 'Bar ' + item.id + ' (' + item.symbol + ' ' + day(item.ts) + ') ' + status.textContent + '.'));
    } catch (e) {
      if (aborted(e)) return;
      for (const b of buttons) b.disabled = false;
      alerts.append(e.status === 403
        ? el('div', { role: 'alert', class: 'alert' }, 'Refused: ' + e.detail + ' (403)')
        : alertBox(e, 'Could not ' + action + ' bar ' + item.id + ': '));
    }
  };
  const rowFor = (it) => {
    const approve = el('button', { type: 'button', class: 'small', 'data-action': 'approve' }, 'Approve');
    const reject = el('button', { type: 'button', class: 'small danger', 'data-action': 'reject' }, 'Reject');
    const row = el('tr', { 'data-id': String(it.id) },
      el('td', { class: 'n' }, String(it.id)),
      el('td', null, it.symbol, el('span', { class: 'muted small' }, ' ' + it.resolution)),
      el('td', null, day(it.ts)),
      el('td', { 'data-status': it.status }, it.status),
      el('td', null, el('div', { class: 'toolbar', style: 'margin:0' }, approve, reject, badge())),
      el('td', { class: 'n' }, [it.open, it.high, it.low, it.close].map((v) => num(v, 2)).join(' / ')),
      el('td', { class: 'n' }, int(it.volume)),
      el('td', null, (it.reasons || []).join(', '), ' ', el('span', { class: 'badge ' + (it.severity === 'critical' ? 'bad' : 'warn') }, it.severity || '?')),
      el('td', { class: 'n' }, sig(it.score, 3)),
      el('td', null, it.source || '', el('div', { class: 'muted small' }, when(it.ingested_at))));
    approve.addEventListener('click', () => review(row, it, 'approve', [approve, reject]));
    reject.addEventListener('click', () => review(row, it, 'reject', [approve, reject]));
    return row;
  };
  root.append(card('Review queue',
    el('p', { class: 'muted small' }, 'Bars held back by the quality checks. Approving merges a bar into the cache; rejecting drops it for good (both are audited). ',
      admin ? 'You are an admin.' : 'Only admin keys may decide; your key (' + (role || 'unknown role') + ') will be refused.'),
    alerts,
    el('div', { class: 'table-wrap' }, el('table', { id: 'quarantine' },
      el('caption', null, int(queue.total) + ' pending' + (queue.total > items.length ? ', first ' + items.length + ' shown' : '')),
      el('thead', null, el('tr', null, ['Id', 'Symbol', 'Session', 'Status', 'Decision', 'O / H / L / C', 'Volume', 'Reasons', 'Score', 'Source']
        .map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', null, items.length ? items.map(rowFor) : el('tr', null, el('td', { colspan: 10, class: 'empty' }, 'Nothing waiting for review.')))))));

  root.append(card('Recent anomaly flags',
    table([
      { h: 'Symbol', v: (f) => f.symbol }, { h: 'Session', v: (f) => day(f.ts) }, { h: 'Check', v: (f) => f.check },
      { h: 'Severity', v: (f) => el('span', { class: 'badge ' + (f.severity === 'critical' ? 'bad' : f.severity === 'warning' ? 'warn' : '') }, f.severity) },
      { h: 'Score', v: (f) => sig(f.score, 3), num: true }, { h: 'Detail', v: (f) => f.detail },
    ], flags.items || [], { id: 'flags', class: 'wrap', caption: 'Newest 50 flags of every severity (notices are kept in the cache; warnings and worse are held).' })));
}
