// #/backtests/<id>: equity with trade markers, drawdown, metrics, trades and the narrative.
import { api, aborted } from '../api.js';
import { el, num, int, pct, money, sig, day, when, human, sign, table, kpi, alertBox, facts, pointTime, parseTs, DASH } from '../fmt.js';
import { figure, plot, baseOpts, bisect, C } from '../chart.js';

const PCT = new Set(['total_return', 'cagr', 'annual_volatility', 'max_drawdown', 'value_at_risk', 'conditional_value_at_risk',
  'win_rate', 'avg_trade', 'best_trade', 'worst_trade', 'exposure', 'alpha', 'tracking_error', 'benchmark_return']);
const INT = new Set(['periods', 'trade_count', 'max_drawdown_duration']);
const MONEY = new Set(['expectancy']);
const NAMES = { cagr: 'CAGR', value_at_risk: 'Value at risk (95%)', conditional_value_at_risk: 'Conditional VaR (95%)', max_drawdown_duration: 'Longest drawdown (bars)' };

export function metricValue(k, v) {
  if (typeof v !== 'number') return v == null ? DASH : String(v);
  if (PCT.has(k)) return pct(v);
  if (INT.has(k)) return int(v);
  if (MONEY.has(k)) return money(v);
  return Math.abs(v) >= 1000 ? num(v, 0) : num(v, Math.abs(v) < 100 ? 3 : 2);
}
export const metricName = (k) => NAMES[k] || human(k);

export async function render(root, ctx) {
  const id = ctx.params[0];
  const enc = encodeURIComponent(id);
  const o = { signal: ctx.signal };
  const run = await api('/backtests/' + enc, o); // first: a wrong id is one 404, not four
  const report = api('/backtests/' + enc + '/report', o).then((r) => ({ r }), (e) => ({ e }));
  const [equity, trades] = await Promise.all([api('/backtests/' + enc + '/equity', o), api('/backtests/' + enc + '/trades', o)]);
  const req = (run.manifest && run.manifest.request) || run.request || run;
  const m = run.metrics || {};
  const params = Object.entries(req.params || {}).map(([k, v]) => k + '=' + (typeof v === 'object' ? JSON.stringify(v) : v)).join(', ');

  root.append(
    el('div', { class: 'head' }, el('h1', null, 'Backtest ', el('code', null, id)),
      el('a', { class: 'button ghost', href: '#/backtests/new?strategy=' + encodeURIComponent(req.strategy || '') }, 'New run of this strategy')),
    el('p', { class: 'lead' }, el('strong', null, req.strategy || '?'), params ? ' (' + params + ')' : '', ' on ', (req.symbols || []).join(', ') || req.universe || '?',
      ', ', day(run.first_ts), ' → ', day(run.last_ts), ' · ', int(run.bars), ' bars · stored ', when(run.created_at)),
    el('div', { class: 'kpis' },
      kpi('Total return', pct(m.total_return), sign(m.total_return)), kpi('CAGR', pct(m.cagr), sign(m.cagr)),
      kpi('Sharpe', num(m.sharpe)), kpi('Max drawdown', pct(m.max_drawdown), 'neg'),
      kpi('Final equity', money(run.final_equity)), kpi('Trades', int(run.trade_count ?? m.trade_count))));

  // Equity and drawdown share x (seconds) and a cursor.
  const intraday = /min$/.test(req.resolution || '');
  const xs = equity.map((p) => pointTime(p, intraday) / 1000);
  const eq = equity.map((p) => p.equity);
  let peak = -Infinity;
  const dd = eq.map((v) => { peak = Math.max(peak, v); return peak > 0 ? (v / peak - 1) * 100 : 0; });
  const entries = new Array(xs.length).fill(null);
  const exits = new Array(xs.length).fill(null);
  // The bar at or before a trade's time (daily: by session date).
  const at = (ts) => {
    const t = parseTs(intraday ? ts : day(ts)) / 1000;
    if (!Number.isFinite(t) || !xs.length) return -1;
    const i = bisect(xs, t);
    return i < xs.length && xs[i] === t ? i : Math.max(0, i - 1);
  };
  for (const t of trades) {
    const i = at(t.entry_ts);
    if (i >= 0) entries[i] = eq[i];
    if (!t.open && t.exit_ts) { const j = at(t.exit_ts); if (j >= 0) exits[j] = eq[j]; }
  }
  const figEq = figure('equity', 'Equity curve', 'Date', 'Equity ($)', 'Green dots: trade entries, red dots: exits. Drag to zoom, double-click to reset.');
  const figDd = figure('drawdown', 'Drawdown', 'Date', 'Drawdown from running peak (%)');
  root.append(figEq, figDd);
  const usd = (v) => (Math.abs(v) >= 1e6 ? '$' + sig(v / 1e6, 3) + 'M' : Math.abs(v) >= 1e4 ? '$' + sig(v / 1e3, 3) + 'k' : '$' + num(v, 0));
  const marker = (label, color) => ({ label, stroke: color, fill: color, width: 0, paths: () => null, points: { show: true, size: 8, width: 1, stroke: color, fill: color }, value: (u, v) => (v == null ? DASH : money(v)) });
  plot(figEq, baseOpts({
    xLabel: 'Date', yLabel: 'Equity ($)', yFmt: usd, sync: 'bt',
    series: [{ label: 'Equity', stroke: C.blue, width: 1.5, value: (u, v) => money(v) }, marker('Entry', C.green), marker('Exit', C.red)],
  }), [xs, eq, entries, exits]);
  plot(figDd, baseOpts({
    xLabel: 'Date', yLabel: 'Drawdown (%)', yFmt: (v) => sig(v, 3) + '%', sync: 'bt', height: 180,
    series: [{ label: 'Drawdown', stroke: C.red, fill: 'rgba(198,40,40,0.15)', width: 1, value: (u, v) => (v == null ? DASH : num(v, 2) + '%') }],
  }), [xs, dd]);

  // Metrics: every number the run stores.
  const rows = Object.entries(m).filter(([, v]) => typeof v !== 'object' || v === null);
  rows.push(['initial_cash', run.initial_cash], ['final_equity', run.final_equity]);
  const metricsT = table([{ h: 'Metric', v: (r) => metricName(r[0]) }, { h: 'Value', v: (r) => (r[0].endsWith('_cash') || r[0] === 'final_equity' ? money(r[1]) : metricValue(r[0], r[1])), num: true }],
    rows, { id: 'metrics', caption: 'Performance metrics' });

  const tradesT = table([
    { h: '#', v: (t) => String(t.i + 1), num: true },
    { h: 'Symbol', v: (t) => t.symbol },
    { h: 'Side', v: (t) => (t.long ? 'long' : 'short') },
    { h: 'Entry', v: (t) => day(t.entry_ts) }, { h: 'Entry price', v: (t) => num(t.entry_price, 2), num: true },
    { h: 'Exit', v: (t) => (t.open ? 'open' : day(t.exit_ts)) }, { h: 'Exit price', v: (t) => (t.open ? DASH : num(t.exit_price, 2)), num: true },
    { h: 'Size', v: (t) => sig(t.size, 6), num: true },
    { h: 'P&L', v: (t) => el('span', { class: sign(t.pnl) }, money(t.pnl)), num: true },
    { h: 'Return', v: (t) => el('span', { class: sign(t.return_pct) }, pct(t.return_pct)), num: true },
  ], trades.map((t, i) => ({ ...t, i })), { id: 'trades', caption: trades.length + ' trades' + (trades.some((t) => t.open) ? ' (open positions marked to the last bar)' : '') });

  const narrative = el('section', { id: 'narrative', class: 'card narrative', 'aria-labelledby': 'narrative-h' }, el('h2', { id: 'narrative-h' }, 'Narrative report'));
  root.append(el('div', { class: 'cols' }, el('section', { class: 'card' }, el('h2', null, 'Metrics'), metricsT), narrative),
    el('section', { class: 'card' }, el('h2', null, 'Trades'), trades.length ? tradesT : el('p', { class: 'muted' }, 'No trades.')));

  const { r: rep, e: err } = await report;
  if (err) {
    if (aborted(err)) throw err;
    narrative.append(alertBox(err, err.status === 409 ? 'The report could not be written for the current bars: ' : 'No report: '));
  } else {
    renderReport(narrative, rep);
  }
}

/** Markdown from the report writer, rendered as text: headings, paragraphs, list items. */
function markdown(md) {
  const out = [];
  let list = null, para = [];
  const flush = () => { if (para.length) out.push(el('p', null, inline(para.join(' ')))); para = []; };
  for (const raw of String(md || '').split('\n')) {
    const line = raw.trim();
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    const li = /^(?:[-*]|\d+\.)\s+(.*)$/.exec(line);
    if (!line) { flush(); list = null; continue; }
    if (h) { flush(); list = null; out.push(el('h3', null, inline(h[2]))); continue; }
    if (li) {
      flush();
      if (!list) { list = el(/^\d/.test(line) ? 'ol' : 'ul'); out.push(list); }
      list.append(el('li', null, inline(li[1])));
      continue;
    }
    list = null;
    para.push(line);
  }
  flush();
  return out;
}
/** **bold** and `code` spans as elements; everything else stays text. */
function inline(s) {
  return s.split(/(\*\*[^*]+\*\*|`[^`]+`)/).filter(Boolean).map((part) =>
    part.startsWith('**') ? el('strong', null, part.slice(2, -2)) : part.startsWith('`') ? el('code', null, part.slice(1, -1)) : part);
}

function renderReport(box, rep) {
  const sheet = (rep.facts && rep.facts.facts) || [];
  const unit = (f) => ({ percent: pct(f.value), currency: money(f.value), ratio: num(f.value), count: int(f.value), bars: int(f.value), days: int(f.value) })[f.unit] ?? sig(f.value);
  const kpis = sheet.filter((f) => /^kpi\./.test(f.id)).slice(0, 12);
  const cmp = (rep.facts && rep.facts.comparisons) || [];
  box.append(
    el('p', { class: 'muted small' }, 'Written by ', el('code', null, String(rep.model || rep.provider || 'the report writer')),
      rep.validation ? (rep.validation.ok ? '; every number checked against the fact sheet.' : '; ' + (rep.validation.violations || []).length + ' unverified statement(s).') : '',
      rep.fallback ? ' (fallback text)' : ''),
    ...markdown(rep.markdown || rep.narrative || rep.text || ''));
  if (kpis.length) {
    box.append(el('h3', null, 'Fact sheet'), facts(kpis.map((f) => [f.label, unit(f)])));
  }
  if (cmp.length) {
    box.append(table([
      { h: 'Against buy and hold', v: (c) => metricName(c.metric) },
      { h: 'Strategy', v: (c) => metricValue(c.metric, c.strategy), num: true },
      { h: 'Buy and hold', v: (c) => metricValue(c.metric, c.benchmark), num: true },
    ], cmp, { class: 'compact' }));
  }
}
