// #/market?symbol=X&from=&to=: candles with volume, flagged and held bars, regime shading.
import { api } from '../api.js';
import { el, num, int, sig, day, pointTime, parseTs, table, alertBox, DASH } from '../fmt.js';
import { figure, plot, baseOpts, candleHook, bandsHook, vlinesHook, bisect, C, REGIME_COLORS } from '../chart.js';

const DAY = 86400;

export async function render(root, ctx) {
  const o = { signal: ctx.signal };
  const [symbols, models] = await Promise.all([api('/market-data/symbols', o), api('/market-data/regime/models', o)]);
  root.append(el('h1', null, 'Market data'));
  if (!symbols.length) { root.append(el('p', { class: 'muted' }, 'The cache holds no symbols yet.')); return; }
  const q = ctx.query;
  const info = symbols.find((s) => s.symbol === q.get('symbol')) || symbols.find((s) => s.symbol === 'MSFT') || symbols[0];
  // Daily bars when held (else the coarsest held); about two years of them, a week of intraday.
  const res = ['daily', 'weekly', 'monthly', '60min', '30min', '15min', '5min', '1min'].find((r) => (info.resolutions || []).includes(r)) || 'daily';
  const intraday = /min$/.test(res);
  const last = day(info.last);
  const start = new Date(parseTs(last) - (intraday ? 7 : 730) * DAY * 1000).toISOString().slice(0, 10);
  const from = q.get('from') || (start > day(info.first) ? start : day(info.first));
  const to = q.get('to') || last;
  const withSymbol = models.filter((m) => (m.spec?.symbols || []).includes(info.symbol));
  const modelName = q.has('regime') ? q.get('regime') : (withSymbol[0] || models[0])?.spec?.name || '';

  // The picker: submitting changes the hash, which renders the page again.
  const sym = el('select', { id: 'market-symbol', name: 'symbol' }, symbols.map((s) => el('option', { value: s.symbol, selected: s === info }, s.symbol)));
  const f = el('input', { id: 'market-from', name: 'from', type: 'date', value: from });
  const t = el('input', { id: 'market-to', name: 'to', type: 'date', value: to });
  const reg = el('select', { id: 'regime-model', name: 'regime' }, el('option', { value: '' }, 'none'),
    models.map((m) => el('option', { value: m.spec.name, selected: m.spec.name === modelName }, m.spec.name + ' (' + (m.spec.symbols || []).join(', ') + ')')));
  const form = el('form', { class: 'inline-form', id: 'market-form' },
    el('div', { class: 'field' }, el('label', { for: 'market-symbol' }, 'Symbol'), sym),
    el('div', { class: 'field' }, el('label', { for: 'market-from' }, 'From'), f),
    el('div', { class: 'field' }, el('label', { for: 'market-to' }, 'To'), t),
    models.length ? el('div', { class: 'field' }, el('label', { for: 'regime-model' }, 'Regime shading'), reg) : null,
    el('button', { type: 'submit' }, 'Show'));
  sym.addEventListener('change', () => { f.value = ''; t.value = ''; });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams({ symbol: sym.value });
    if (f.value) p.set('from', f.value);
    if (t.value) p.set('to', t.value);
    if (models.length) p.set('regime', reg.value);
    location.hash = '#/market?' + p.toString();
  });
  root.append(form, el('p', { class: 'muted small' }, info.symbol + ': ' + int(info.rows) + ' bars cached, ' + day(info.first) + ' → ' + last + ' (' + info.asset_class + ', ' + info.session + ' sessions). Prices as traded (unadjusted).'));

  const s = encodeURIComponent(info.symbol);
  const range = 'from=' + from + '&to=' + to;
  const [bars, held, flags, regime] = await Promise.all([
    api('/market-data/bars/' + s + '?resolution=' + res + '&' + range, o),
    api('/quality/quarantine?symbol=' + s + '&limit=500', o),
    api('/quality/flags?symbol=' + s + '&limit=5000', o),
    modelName ? api('/market-data/regime/history?universe=' + encodeURIComponent(modelName) + '&' + range, o).catch((e) => ({ error: e })) : null,
  ]);
  const b = bars.bars || [];
  const xs = b.map((x) => pointTime(x, intraday) / 1000);
  const lo = xs[0] ?? 0, hi = (xs[xs.length - 1] ?? 0) + DAY;
  const inRange = (ts) => { const v = parseTs(ts) / 1000; return v >= lo && v < hi; };

  // Flags on cached bars: a marker above the bar's high.
  const flagged = new Array(xs.length).fill(null);
  const flagRows = (flags.items || []).filter((x) => inRange(x.ts));
  const tOf = (ts) => parseTs(intraday ? ts : day(ts)) / 1000;
  for (const fl of flagRows) {
    const i = bisect(xs, tOf(fl.ts));
    if (i < xs.length && xs[i] === tOf(fl.ts)) flagged[i] = b[i].high * 1.03;
  }
  // Held (quarantined) bars never reached the cache: dashed lines at their sessions.
  const heldRows = (held.items || []).filter((x) => inRange(x.ts));
  const heldXs = heldRows.filter((x) => x.status === 'pending').map((x) => tOf(x.ts));

  // Regime labels as background spans.
  const spans = [];
  const regRows = (regime && !regime.error && regime.rows) || [];
  for (let i = 0; i < regRows.length; i++) {
    const a = parseTs(regRows[i].day) / 1000;
    const next = i + 1 < regRows.length ? parseTs(regRows[i + 1].day) / 1000 : a + DAY;
    const prev = spans[spans.length - 1];
    if (prev && prev.regime === regRows[i].regime && prev.to === a) prev.to = next;
    else spans.push({ from: a, to: next, regime: regRows[i].regime, color: REGIME_COLORS[regRows[i].regime] || 'rgba(0,0,0,0.06)' });
  }

  const key = el('div', { class: 'legend-key' },
    el('span', null, el('span', { class: 'swatch', style: 'background:' + C.green }), 'up day'),
    el('span', null, el('span', { class: 'swatch', style: 'background:' + C.red }), 'down day'),
    el('span', null, el('span', { class: 'swatch', style: 'background:' + C.orange }), 'flagged bar (' + flagged.filter((v) => v != null).length + ')'),
    el('span', null, el('span', { class: 'swatch', style: 'background:#fff;border:2px dashed ' + C.purple }), 'held for review (' + heldXs.length + ')'),
    spans.length ? Object.keys(REGIME_COLORS).filter((r) => spans.some((x) => x.regime === r))
      .map((r) => el('span', null, el('span', { class: 'swatch', style: 'background:' + REGIME_COLORS[r].replace(/0\.1\d\)/, '0.45)') }), r + ' regime')) : null);
  const figP = figure('candles', info.symbol + ' ' + res + ' candles', 'Date', 'Price ($)', modelName && spans.length ? 'Background: regime of model ' + modelName + '.' : null);
  const figV = figure('volume', info.symbol + ' volume', 'Date', 'Volume (shares)');
  root.append(key, figP, figV);
  if (regime && regime.error) root.insertBefore(alertBox(regime.error, 'No regime shading: '), key);

  const inv = (label) => ({ label, stroke: '#555', paths: () => null, points: { show: false }, value: (u, v) => (v == null ? DASH : num(v, 2)) });
  const opts = baseOpts({
    xLabel: 'Date', yLabel: 'Price ($)', yFmt: (v) => sig(v, 4), sync: 'mkt', height: 340,
    series: [inv('Open'), inv('High'), inv('Low'), inv('Close'),
      { label: 'Flagged', stroke: C.orange, fill: C.orange, paths: () => null, points: { show: true, size: 9, fill: C.orange, stroke: '#7c2d12', width: 1 }, value: (u, v) => (v == null ? DASH : 'yes') }],
  });
  opts.hooks = { drawClear: [bandsHook(spans)], draw: [candleHook, vlinesHook(heldXs, C.purple)] };
  plot(figP, opts, [xs, b.map((x) => x.open), b.map((x) => x.high), b.map((x) => x.low), b.map((x) => x.close), flagged]);

  const bars2 = window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.7, 40] }) : undefined;
  plot(figV, baseOpts({
    xLabel: 'Date', yLabel: 'Volume', yFmt: (v) => (v >= 1e6 ? sig(v / 1e6, 3) + 'M' : v >= 1e3 ? sig(v / 1e3, 3) + 'k' : String(v)), sync: 'mkt', height: 150,
    series: [{ label: 'Volume', stroke: C.grey, fill: 'rgba(107,114,128,0.45)', paths: bars2, points: { show: false }, value: (u, v) => int(v) }],
  }), [xs, b.map((x) => x.volume)]);

  if (heldRows.length || flagRows.length) {
    root.append(el('section', { class: 'card' }, el('h2', null, 'Quality marks in this range'),
      heldRows.length ? table([{ h: 'Held bar', v: (h) => day(h.ts) }, { h: 'Status', v: (h) => h.status }, { h: 'Close', v: (h) => num(h.close, 2), num: true },
        { h: 'Reasons', v: (h) => (h.reasons || []).join(', ') }], heldRows, { id: 'held-bars' }) : null,
      flagRows.length ? table([{ h: 'Flagged bar', v: (x) => day(x.ts) }, { h: 'Check', v: (x) => x.check }, { h: 'Severity', v: (x) => x.severity },
        { h: 'Detail', v: (x) => x.detail }], flagRows, { id: 'market-flags', class: 'wrap' }) : null,
      el('p', null, el('a', { href: '#/quality' }, 'Review held bars →'))));
  }
}
