// #/backtests: stored runs (cursor paging), links to each run, pick several to compare.
import { api } from '../api.js';
import { el, pct, num, day, when, sign, alertBox } from '../fmt.js';

export async function render(root, ctx) {
  const selected = new Set();
  const compare = el('button', { id: 'compare', type: 'button', disabled: true }, 'Compare selected');
  const hint = el('span', { class: 'muted small', 'aria-live': 'polite' }, 'Tick 2 to 20 runs to compare them.');
  compare.addEventListener('click', () => {
    location.hash = '#/compare?ids=' + [...selected].join(',');
  });
  const tbody = el('tbody');
  const more = el('button', { type: 'button', class: 'ghost', hidden: true }, 'Load more');
  const status = el('div');
  root.append(
    el('div', { class: 'head' },
      el('h1', null, 'Backtests'),
      el('a', { href: '#/backtests/new', class: 'button', id: 'new-backtest' }, 'New backtest')),
    el('div', { class: 'toolbar' }, compare, hint),
    status,
    el('div', { class: 'table-wrap' },
      el('table', { id: 'runs' },
        el('caption', { class: 'sr-only' }, 'Stored backtest runs, newest first'),
        el('thead', null, el('tr', null,
          ['Compare', 'Run', 'Strategy', 'Symbols', 'Period', 'Total return', 'Sharpe', 'Max drawdown', 'Trades', 'Created']
            .map((h, i) => el('th', { scope: 'col', class: i >= 5 && i <= 8 ? 'n' : null }, h)))),
        tbody)),
    more);

  const update = () => {
    compare.disabled = selected.size < 2 || selected.size > 20;
    hint.textContent = selected.size ? selected.size + ' selected' + (selected.size > 20 ? ' (at most 20)' : '') : 'Tick 2 to 20 runs to compare them.';
  };

  const row = (r) => {
    const m = r.metrics || {};
    const req = (r.manifest && r.manifest.request) || r.request || r;
    const box = el('input', { type: 'checkbox', 'aria-label': 'Compare ' + r.id, value: r.id });
    box.addEventListener('change', () => { box.checked ? selected.add(r.id) : selected.delete(r.id); update(); });
    const syms = req.symbols || [];
    return el('tr', { 'data-id': r.id },
      el('td', null, box),
      el('td', null, el('a', { href: '#/backtests/' + r.id }, el('code', null, r.id))),
      el('td', null, req.strategy || '—'),
      el('td', null, syms.length > 4 ? syms.slice(0, 4).join(', ') + ' +' + (syms.length - 4) : syms.join(', ') || req.universe || '—'),
      el('td', null, day(r.first_ts) + ' → ' + day(r.last_ts)),
      el('td', { class: 'n ' + sign(m.total_return) }, pct(m.total_return)),
      el('td', { class: 'n' }, num(m.sharpe)),
      el('td', { class: 'n neg' }, pct(m.max_drawdown)),
      el('td', { class: 'n' }, r.trade_count ?? m.trade_count ?? '—'),
      el('td', null, when(r.created_at)));
  };

  let cursor = null;
  const load = async () => {
    const page = await api('/backtests?limit=50' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''), { signal: ctx.signal });
    tbody.append(...page.items.map(row));
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    if (!tbody.children.length) {
      tbody.append(el('tr', null, el('td', { colspan: 10, class: 'empty' }, 'No backtests yet. ', el('a', { href: '#/backtests/new' }, 'Run one'), '.')));
    }
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    status.replaceChildren();
    try { await load(); } catch (e) { status.append(alertBox(e)); }
    more.disabled = false;
  });
  await load();
}
