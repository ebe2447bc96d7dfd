// #/overview: one call (GET /dashboard) as cards; every section copes with being empty.
import { api } from '../api.js';
import { el, num, int, pct, money, sig, day, when, sign, kpi, card, table, human } from '../fmt.js';
import { REGIME_COLORS, figure, plot, baseOpts, C } from '../chart.js';

const empty = (text) => el('p', { class: 'muted' }, text);

export async function render(root, ctx) {
  const d = await api('/dashboard', { signal: ctx.signal });
  const t = d.totals || {};
  const ports = d.portfolios || [];
  root.append(el('h1', null, 'Overview'),
    el('p', { class: 'lead' }, 'For key ', el('code', null, d.owner || '?'), ' · built ', when(d.generated_at)));

  // Portfolios: totals, then each with its 10-session forecast band and VaR.
  const portCard = card('Portfolios');
  if (!ports.length) portCard.append(empty('No portfolios yet (create one with POST /api/v1/portfolios).'));
  else {
    portCard.append(el('div', { class: 'kpis' },
      kpi('Value', money(t.value)), kpi('Day change', money(t.day_change), sign(t.day_change)),
      kpi('P&L', money(t.pnl), sign(t.pnl)), kpi('Money return', pct(t.total_return), sign(t.total_return))));
    ports.forEach((p, i) => portCard.append(portfolio(p, i)));
  }

  const q = d.data_quality || {};
  const sev = q.flags_by_severity || {};
  const qualityCard = card('Data quality',
    el('div', { class: 'kpis' }, kpi('Pending review', int(q.pending), q.pending ? 'neg' : ''), kpi('Approved', int(q.approved)),
      kpi('Rejected', int(q.rejected)), kpi('Gaps', int(q.gaps))),
    Object.keys(sev).length ? el('p', null, 'Flags: ', Object.entries(sev).map(([k, v]) => k + ' ' + int(v)).join(', ')) : empty('No anomaly flags.'),
    el('a', { href: '#/quality' }, 'Review queue →'));

  const jobs = d.jobs || {};
  const by = jobs.by_status || {};
  const jobsCard = card('Jobs',
    el('div', { class: 'kpis' }, kpi('All jobs', int(jobs.total)), ...Object.entries(by).map(([k, v]) => kpi(human(k), int(v), k === 'failed' ? 'neg' : ''))),
    el('a', { href: '#/jobs' }, 'Job queue →'));

  const regimes = d.regimes || [];
  const regimeCard = card('Market regime', regimes.length
    ? regimes.map((r) => {
      const probs = Object.entries((r.latest && r.latest.probabilities) || {}).sort((a, b) => b[1] - a[1]);
      return el('div', { class: 'regime' },
        el('p', null, el('strong', null, r.model), ' (', (r.symbols || []).join(', '), '): ',
          el('span', { class: 'badge', style: 'background:' + (REGIME_COLORS[r.latest?.regime] || '#eee').replace(/0\.1\d\)/, '0.35)') }, r.latest?.regime || '?'),
          ' on ', day(r.latest?.day)),
        el('p', { class: 'muted small' }, probs.map(([k, v]) => k + ' ' + pct(v, 1)).join(' · ')));
    })
    : empty('No regime model fitted yet.'));

  const fresh = d.data_freshness || [];
  const freshCard = card('Data freshness', fresh.length
    ? table([{ h: 'Symbol', v: (s) => s.symbol }, { h: 'Resolutions', v: (s) => (s.resolutions || []).join(', ') },
      { h: 'Last bar', v: (s) => day(s.last_bar) }, { h: 'Refreshed', v: (s) => when(s.last_refreshed) }], fresh, { id: 'freshness' })
    : empty('The cache is empty.'));

  const bts = d.recent_backtests || [];
  const btCard = card('Recent backtests', bts.length
    ? table([
      { h: 'Run', v: (b) => el('a', { href: '#/backtests/' + b.id }, el('code', null, b.id)) },
      { h: 'Strategy', v: (b) => b.strategy || '—' }, { h: 'Symbols', v: (b) => (b.symbols || []).slice(0, 5).join(', ') },
      { h: 'Return', v: (b) => el('span', { class: sign(b.total_return) }, pct(b.total_return)), num: true },
      { h: 'Sharpe', v: (b) => num(b.sharpe), num: true }, { h: 'Stored', v: (b) => when(b.created_at) }], bts, { id: 'recent-backtests' })
    : empty('No backtests yet.'), el('p', null, el('a', { href: '#/backtests/new' }, 'Run a backtest →')));

  const studies = d.studies || [];
  const studyCard = card('Optimisation studies', studies.length
    ? table([
      { h: 'Study', v: (s) => el('a', { href: '#/studies/' + s.study_id }, s.name || s.study_id) },
      { h: 'Strategy', v: (s) => s.strategy }, { h: 'State', v: (s) => s.state },
      { h: 'DSR', v: (s) => num(s.deflated_sharpe, 3), num: true }, { h: 'PBO', v: (s) => pct(s.pbo, 1), num: true },
      { h: 'OOS Sharpe', v: (s) => num(s.out_of_sample_sharpe), num: true }, { h: 'Buy & hold', v: (s) => num(s.baseline_sharpe), num: true }], studies)
    : empty('No studies yet.'));

  if (ports.length) portCard.classList.add('wide');
  btCard.classList.add('wide');
  studyCard.classList.add('wide');
  root.append(el('div', { class: 'grid-cards' }, portCard, regimeCard, qualityCard, jobsCard, btCard, studyCard, freshCard));

  // Fan charts: each portfolio's stored forecast quantiles, drawn once the cards are laid out.
  await Promise.all(ports.map(async (p, i) => {
    const fig = root.querySelector('#fan-' + i);
    if (!fig || !p.forecast) return;
    try {
      fan(fig, await api('/forecasts/' + encodeURIComponent(p.forecast.forecast_id), { signal: ctx.signal }));
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      fig.replaceWith(el('p', { class: 'muted small' }, 'Fan chart unavailable: ' + e.message));
    }
  }));
}

function fan(fig, f) {
  const q = new Map();
  for (const r of f.quantiles || []) {
    if (!q.has(r.quantile)) q.set(r.quantile, []);
    q.get(r.quantile)[r.day] = r.value;
  }
  const days = Array.from({ length: (f.horizon || 0) + 1 }, (_, d) => d);
  const line = (k) => days.map((d) => (d === 0 ? f.start_value : (q.get(k) || [])[d] ?? null));
  const usd = (v) => '$' + sig(v / 1000, 4) + 'k';
  const s = (label, k, stroke, dash) => ({ label, stroke, width: 1, dash, points: { show: false }, value: (u, v) => money(v), k });
  const series = [s('5%', 0.05, C.blue, [4, 3]), s('25%', 0.25, C.blue), s('Median', 0.5, C.green), s('75%', 0.75, C.blue), s('95%', 0.95, C.blue, [4, 3])];
  const opts = baseOpts({ xLabel: 'Sessions ahead', yLabel: 'Value ($)', time: false, yFmt: usd, height: 220, series });
  opts.bands = [{ series: [5, 1], fill: 'rgba(37,99,235,0.10)' }, { series: [4, 2], fill: 'rgba(37,99,235,0.20)' }];
  plot(fig, opts, [days, ...series.map((x) => line(x.k))]);
}

function portfolio(p, i) {
  const f = p.forecast;
  const box = el('div', { class: 'portfolio' },
    el('h3', null, p.name, el('span', { class: 'muted small' }, ' as of ', p.as_of ? day(p.as_of) : '—')),
    el('div', { class: 'kpis' }, kpi('Value', money(p.value)), kpi('Day', pct(p.day_change_pct), sign(p.day_change_pct)),
      kpi('Total return (TWR)', pct(p.total_return), sign(p.total_return)), kpi('P&L', money(p.pnl), sign(p.pnl))));
  if (!f) {
    box.append(empty('No forecast' + (p.forecast_note ? ': ' + p.forecast_note : '.')));
    return box;
  }
  // The 5–95 % band at the horizon drawn as a range bar around today's value.
  const [lo, hi] = f.band_5_95 || [];
  const [lo1, hi1] = f.band_5_95_next_day || [];
  const span = Math.max(hi - lo, 1e-9);
  const pos = (v) => Math.min(100, Math.max(0, (100 * (v - lo)) / span)).toFixed(1) + '%';
  box.append(
    el('figure', { class: 'band', id: 'forecast-' + p.id, 'data-x-label': 'Value ($)', 'data-y-label': 'Forecast band' },
      el('figcaption', null, el('strong', null, f.horizon + '-session forecast'), ' (', f.model, '): value between ', money(lo), ' and ', money(hi), ' with 90% probability; next session ', money(lo1), ' – ', money(hi1), '.'),
      el('div', { class: 'band-track', role: 'img', 'aria-label': '5 to 95 percent band of the value in ' + f.horizon + ' sessions, with the current value marked' },
        el('span', { class: 'band-next', style: 'left:' + pos(lo1) + ';width:calc(' + pos(hi1) + ' - ' + pos(lo1) + ')' }),
        el('span', { class: 'band-now', style: 'left:' + pos(p.value) }))),
    figure('fan-' + i, 'Forecast fan', 'Sessions ahead', 'Value ($)', 'Shaded: 5–95% and 25–75% of ' + f.model + ' simulated paths.'),
    table([
      { h: 'Horizon', v: (r) => r.days + (r.days === 1 ? ' session' : ' sessions') }, { h: 'Level', v: (r) => pct(r.level, 0) },
      { h: 'VaR', v: (r) => pct(r.var) + ' (' + money(r.var_value) + ')', num: true },
      { h: 'CVaR', v: (r) => pct(r.cvar) + ' (' + money(r.cvar_value) + ')', num: true }], f.var || [], { class: 'compact', caption: 'Value at risk (loss not exceeded at the level)' }));
  return box;
}
