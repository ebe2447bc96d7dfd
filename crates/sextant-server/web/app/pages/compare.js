// #/compare?ids=a,b: metrics side by side and the equity curves normalised to 100.
import { api } from '../api.js';
import { el, money, sig, pointTime, table } from '../fmt.js';
import { figure, plot, baseOpts, PALETTE } from '../chart.js';
import { metricName, metricValue } from './backtest.js';

export async function render(root, ctx) {
  const ids = (ctx.query.get('ids') || '').split(',').map((s) => s.trim()).filter(Boolean);
  root.append(el('h1', null, 'Compare backtests'));
  if (ids.length < 2) {
    root.append(el('p', null, 'Pick 2 to 20 runs on the ', el('a', { href: '#/backtests' }, 'backtests page'), ' to compare them.'));
    return;
  }
  const o = { signal: ctx.signal };
  const [rows, ...curves] = await Promise.all([
    api('/backtests/compare?ids=' + ids.map(encodeURIComponent).join(','), o),
    ...ids.map((id) => api('/backtests/' + encodeURIComponent(id) + '/equity', o)),
  ]);
  const label = (r, i) => (i + 1) + '. ' + r.strategy + ' ' + (r.symbols || []).join(',');

  // One x axis for all: the union of the curves' times (uPlot.join), each normalised to 100.
  const tables = curves.map((c) => {
    const first = c.length ? c[0].equity : 1;
    return [c.map((p) => pointTime(p) / 1000), c.map((p) => (first ? (100 * p.equity) / first : null))];
  });
  const data = window.uPlot.join(tables);
  const fig = figure('compare-equity', 'Equity, normalised', 'Date', 'Growth of 100', 'Each run starts at 100.');
  root.append(fig);
  plot(fig, baseOpts({
    xLabel: 'Date', yLabel: 'Growth of 100', yFmt: (v) => sig(v, 4),
    series: rows.map((r, i) => ({ label: label(r, i), stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true })),
  }), data);

  const keys = [];
  for (const r of rows) for (const [k, v] of Object.entries(r.metrics || {})) if (typeof v !== 'object' && !keys.includes(k)) keys.push(k);
  const cols = [{ h: 'Metric', v: (k) => metricName(k) },
    ...rows.map((r, i) => ({ h: el('a', { href: '#/backtests/' + r.id }, label(r, i)), v: (k) => metricValue(k, (r.metrics || {})[k]), num: true }))];
  root.append(el('section', { class: 'card' }, el('h2', null, 'Side by side'),
    table([{ h: 'Run', v: (x) => x.k }, ...rows.map((r) => ({ h: el('code', null, r.id), v: (x) => x.f(r), num: true }))], [
      { k: 'Strategy', f: (r) => r.strategy }, { k: 'Parameters', f: (r) => JSON.stringify(r.params || {}) },
      { k: 'Symbols', f: (r) => (r.symbols || []).join(', ') }, { k: 'Final equity', f: (r) => money(r.final_equity) },
    ], { id: 'compare-runs' }),
    table(cols, keys, { id: 'compare-metrics', class: 'compact' })));
}
