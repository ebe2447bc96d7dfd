// #/studies and #/studies/<id>: tuning studies, the leaderboard with DSR and PBO, trial history,
// out-of-sample equity, and a labelled client-side proxy for parameter importance.
import { api } from '../api.js';
import { el, num, int, pct, sig, when, table, kpi, card, sign, alertBox } from '../fmt.js';
import { figure, plot, baseOpts, hbars, C } from '../chart.js';
import { metricValue } from './backtest.js';

export async function render(root, ctx) {
  return ctx.params.length ? detail(root, ctx, ctx.params[0]) : list(root, ctx);
}

async function list(root, ctx) {
  const page = await api('/studies?limit=100', { signal: ctx.signal });
  const items = page.items || [];
  root.append(el('h1', null, 'Optimisation studies'),
    el('p', { class: 'muted small' }, 'Queue a study with POST /api/v1/backtests/optimize (see ', el('a', { href: '/docs' }, 'API docs'), ').'),
    items.length ? table([
      { h: 'Study', v: (s) => el('a', { href: '#/studies/' + s.id }, s.name || s.id) },
      { h: 'Strategy', v: (s) => s.strategy }, { h: 'Symbols', v: (s) => (s.request?.backtest?.symbols || []).join(', ') },
      { h: 'Objectives', v: (s) => (s.request?.objectives || []).join(', ') },
      { h: 'State', v: (s) => el('span', { class: 'badge ' + (s.state === 'complete' ? 'ok' : s.state === 'failed' ? 'bad' : 'warn') }, s.state) },
      { h: 'Trials', v: (s) => int(s.counts?.complete) + ' / ' + int(s.request?.trials), num: true },
      { h: 'Best', v: (s) => (s.best ? (s.best.values || []).map((v) => sig(v, 4)).join(', ') : '—'), num: true },
      { h: 'Updated', v: (s) => when(s.updated_at || s.created_at) },
    ], items, { id: 'studies' }) : el('p', { class: 'muted' }, 'No studies yet.'));
}

/** Spearman rank correlation of x with y. */
function spearman(x, y) {
  const rank = (a) => {
    const idx = a.map((v, i) => [v, i]).sort((p, q) => p[0] - q[0]);
    const r = new Array(a.length);
    for (let i = 0; i < idx.length;) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
      for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2 + 1;
      i = j + 1;
    }
    return r;
  };
  const rx = rank(x), ry = rank(y), n = x.length;
  const mx = rx.reduce((a, b) => a + b, 0) / n, my = ry.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { sxy += (rx[i] - mx) * (ry[i] - my); sxx += (rx[i] - mx) ** 2; syy += (ry[i] - my) ** 2; }
  return sxx && syy ? sxy / Math.sqrt(sxx * syy) : 0;
}

async function detail(root, ctx, id) {
  const o = { signal: ctx.signal };
  const enc = encodeURIComponent(id);
  const study = await api('/studies/' + enc, o);
  const complete = study.state === 'complete';
  const trialsP = (async () => {
    const out = [];
    for (let off = 0; off < 5000; off += 1000) {
      const p = await api('/studies/' + enc + '/trials?limit=1000&offset=' + off, o);
      out.push(...(p.items || []));
      if (out.length >= p.total || !(p.items || []).length) break;
    }
    return out;
  })();
  const [board, trials] = await Promise.all([complete ? api('/studies/' + enc + '/leaderboard', o) : null, trialsP]);
  const req = study.request || {};
  const objectives = req.objectives || ['objective'];
  root.append(el('h1', null, 'Study ', study.name ? study.name + ' ' : '', el('code', null, study.id)),
    el('p', { class: 'lead' }, el('strong', null, study.strategy), ' on ', (req.backtest?.symbols || []).join(', '), ' · maximising ', objectives.join(', '),
      ' · ', req.sampler || 'default sampler', ' · state ', el('span', { class: 'badge' }, study.state)));
  if (!complete) {
    root.append(el('p', { class: 'note' }, 'The leaderboard, its deflated Sharpe ratio and PBO are served once the study is complete (it is ' + study.state + ').'));
  }
  const a = board && board.analysis;
  if (a) {
    const dsr = a.deflated_sharpe || {}, pbo = a.pbo || {}, oos = a.out_of_sample || {};
    root.append(el('div', { class: 'kpis', id: 'study-kpis' },
      kpi('Deflated Sharpe (DSR)', num(dsr.dsr, 3)), kpi('PSR', num(dsr.psr, 3)),
      kpi('PBO', pct(pbo.pbo, 1), pbo.pbo > 0.5 ? 'neg' : 'pos'),
      kpi('OOS Sharpe', num(oos.sharpe), sign(oos.sharpe)), kpi('Buy & hold Sharpe', num(oos.baseline_sharpe)),
      kpi('OOS CAGR', pct(oos.cagr), sign(oos.cagr)), kpi('Distinct trials', int(a.distinct))),
      el('p', { class: 'muted small' }, 'DSR: probability the best trial\u2019s Sharpe is real after ', int(dsr.trials), ' trials. PBO: probability of backtest overfitting (',
        int(pbo.splits), ' combinatorial splits); above 50% the in-sample winner tends to lose out of sample.'));
    if ((a.notes || []).length) root.append(el('ul', { class: 'muted small' }, a.notes.map((n) => el('li', null, n))));
    const params = Object.keys((a.leaderboard[0] || {}).params || {});
    root.append(card('Leaderboard', table([
      { h: 'Rank', v: (r) => String(r.rank), num: true }, { h: 'Trial', v: (r) => String(r.trial), num: true },
      ...params.map((p) => ({ h: p, v: (r) => String(r.params?.[p] ?? '—'), num: true })),
      ...objectives.map((ob, i) => ({ h: ob + ' (folds)', v: (r) => num(r.values?.[i], 3), num: true })),
      { h: 'Sharpe (all bars)', v: (r) => num(r.sharpe), num: true }, { h: 'CAGR', v: (r) => pct(r.cagr), num: true },
      { h: 'Max DD', v: (r) => pct(r.max_drawdown), num: true }, { h: 'Trades', v: (r) => int(r.trades), num: true },
    ], a.leaderboard || [], { id: 'leaderboard', caption: 'Best trials by objective (in-sample)' })));
  }

  // Trial history: objective by trial number and the best so far.
  const done = trials.filter((t) => t.state === 'complete' && Array.isArray(t.values) && Number.isFinite(t.values[0])).sort((p, q) => p.number - q.number);
  if (done.length) {
    let best = -Infinity;
    const xs = done.map((t) => t.number), ys = done.map((t) => t.values[0]), bs = ys.map((v) => (best = Math.max(best, v)));
    const fig = figure('trials', 'Trial history', 'Trial number', objectives[0], 'Dots: each complete trial; line: best so far.');
    root.append(fig);
    plot(fig, baseOpts({
      xLabel: 'Trial number', yLabel: objectives[0], time: false, yFmt: (v) => sig(v, 3), height: 260,
      series: [{ label: 'Trial', stroke: C.blue, paths: () => null, points: { show: true, size: 6, fill: C.blue } },
        { label: 'Best so far', stroke: C.green, width: 2, points: { show: false } }],
    }), [xs, ys, bs]);

    // Parameter importance proxy: |Spearman rho| of each numeric parameter with the objective.
    const names = Object.keys(done[0].params || {}).filter((p) => done.every((t) => typeof t.params[p] === 'number'));
    if (names.length && done.length >= 5) {
      const items = names.map((p) => ({ label: p, value: spearman(done.map((t) => t.params[p]), ys) })).sort((p, q) => Math.abs(q.value) - Math.abs(p.value));
      root.append(hbars('importance', { title: 'Parameter importance (proxy)', x: 'Spearman rank correlation with ' + objectives[0], y: 'Parameter',
        note: 'Computed in the browser from ' + done.length + ' complete trials: the rank correlation of each parameter with the objective (sign shown; red = negative). A proxy, not a model-based importance such as fANOVA.' },
      items, (v) => num(v, 2)));
    }
  } else if (!trials.length) {
    root.append(el('p', { class: 'muted' }, 'No trials yet.'));
  }

  // Out-of-sample walk-forward equity beside buy and hold.
  const oos = a && a.out_of_sample;
  if (oos && Array.isArray(oos.ts) && oos.ts.length) {
    const fig = figure('oos-equity', 'Walk-forward out-of-sample equity', 'Date', 'Equity ($)', 'Each fold trades the parameters its own training window chose.');
    root.append(fig);
    plot(fig, baseOpts({
      xLabel: 'Date', yLabel: 'Equity ($)', yFmt: (v) => '$' + sig(v, 3),
      series: [{ label: 'Out of sample', stroke: C.blue, width: 1.5, value: (u, v) => metricValue('expectancy', v) },
        { label: 'Buy and hold', stroke: C.grey, width: 1, value: (u, v) => metricValue('expectancy', v) }],
    }), [oos.ts.map((t) => (t > 1e11 ? t / 1000 : t)), oos.equity, oos.baseline_equity || oos.equity.map(() => null)]);
  }
  if (study.error) root.append(alertBox({ detail: study.error }, 'Study error: '));
}
