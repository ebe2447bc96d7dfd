// #/rl (?id=rlp_…): reinforcement-learning policies — the registry, one policy's out-of-sample
// evaluation beside buy and hold, flat and the best tuned rule (with the bootstrap of the Sharpe
// difference and a plain verdict), its reward curve and lineage; analysts train new ones (a job).
import { api, aborted } from '../api.js';
import { el, num, int, pct, day, when, table, card, alertBox, facts, sign } from '../fmt.js';
import { figure, plot, baseOpts, C } from '../chart.js';

const legs = [['policy', 'Policy'], ['buy_and_hold', 'Buy and hold'], ['flat', 'Flat'], ['best_rule', 'Best rule']];

/** What a bootstrap CI of a daily Sharpe difference says, in words. */
function verdict(b, other) {
  if (!b || !Array.isArray(b.sharpe_diff_ci)) return '—';
  const [lo, hi] = b.sharpe_diff_ci;
  if (lo > 0) return 'better than ' + other + ' (95% CI above 0)';
  if (hi < 0) return 'worse than ' + other + ' (95% CI below 0)';
  return 'no significant difference from ' + other + ' (95% CI spans 0)';
}

function trainForm(ctx, symbols) {
  const input = (id, attrs) => el('input', { id, name: id, ...attrs });
  const f = el('form', { id: 'rl-train', class: 'inline-form', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'rl-symbol' }, 'Symbol'),
      el('select', { id: 'rl-symbol', name: 'symbol' }, symbols.map((s) => el('option', { value: s, selected: s === 'MSFT' }, s)))),
    el('div', { class: 'field' }, el('label', { for: 'rl-train-to' }, 'Train to'), input('rl-train-to', { type: 'date', value: '2008-12-31', required: true })),
    el('div', { class: 'field' }, el('label', { for: 'rl-test-to' }, 'Test to (optional)'), input('rl-test-to', { type: 'date' })),
    el('div', { class: 'field' }, el('label', { for: 'rl-algo' }, 'Agent'),
      el('select', { id: 'rl-algo' }, el('option', { value: 'ppo' }, 'PPO'), el('option', { value: 'dqn' }, 'Double DQN'))),
    el('div', { class: 'field' }, el('label', { for: 'rl-steps' }, 'Steps'), input('rl-steps', { type: 'number', min: 2048, max: 1000000, step: 2048, value: 20480 })),
    el('div', { class: 'field' }, el('label', { for: 'rl-seed' }, 'Seed'), input('rl-seed', { type: 'number', min: 0, value: 0 })),
    el('div', { class: 'field' }, el('label', { for: 'rl-regimes' }, 'Regime probabilities'),
      el('select', { id: 'rl-regimes' }, el('option', { value: '' }, 'none'), [2, 3, 4].map((k) => el('option', { value: String(k) }, k + ' states')))),
    el('button', { type: 'submit', id: 'rl-submit' }, 'Train'));
  const msg = el('div', { id: 'rl-msg', 'aria-live': 'polite' });
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.replaceChildren();
    const v = (id) => f.querySelector('#' + id).value;
    const body = { symbol: v('rl-symbol'), train_to: v('rl-train-to'), algo: v('rl-algo'), steps: Number(v('rl-steps')), seed: Number(v('rl-seed')) };
    if (v('rl-test-to')) body.test_to = v('rl-test-to');
    if (v('rl-regimes')) body.regime_states = Number(v('rl-regimes'));
    const button = f.querySelector('#rl-submit');
    button.disabled = true;
    try {
      const job = await api('/rl/train', { method: 'POST', body, signal: ctx.signal });
      msg.append(el('p', { role: 'status', class: 'note', 'data-job-id': job.id }, 'Training as job ', el('code', null, job.id), ': follow it on ',
        el('a', { href: '#/jobs' }, 'Jobs'), '; the policy appears here when it finishes.'));
    } catch (e) {
      if (!aborted(e)) msg.append(alertBox(e));
    }
    button.disabled = false;
  });
  return card('Train a policy', el('p', { class: 'muted small' },
    'Trained on the bars up to "train to", evaluated on the bars after it; the evaluation never sees a training bar. Runs as a job (at most 1M steps).'), f, msg);
}

export async function render(root, ctx) {
  const o = { signal: ctx.signal };
  const [res, role, syms] = await Promise.all([api('/rl/policies', o), ctx.role(), api('/market-data/symbols', o)]);
  const list = res.items || [];
  const canTrain = role === 'analyst' || role === 'admin';
  const symbols = [...new Set((Array.isArray(syms) ? syms : []).map((s) => s.symbol))].filter(Boolean);
  root.append(el('h1', null, 'RL policies'));
  if (canTrain) root.append(trainForm(ctx, symbols.length ? symbols : ['MSFT']));
  if (!list.length) {
    root.append(el('p', { class: 'muted', id: 'rl-empty' }, 'No policies trained yet. Train one above, with ', el('code', null, 'sextant rl train'), ' or POST /api/v1/rl/train.'));
    return;
  }
  const id = ctx.query.get('id') || list[0].id;
  const ev = (p) => p.evaluation || {};
  root.append(card('Registry', table([
    { h: 'Policy', v: (p) => el('a', { href: '#/rl?id=' + encodeURIComponent(p.id), 'aria-current': p.id === id ? 'true' : null }, el('code', null, p.id)) },
    { h: 'Symbol', v: (p) => p.request?.symbol }, { h: 'Agent', v: (p) => (p.request?.algo || '').toUpperCase() },
    { h: 'Trained to', v: (p) => day(p.train_range?.[1]) }, { h: 'Out of sample', v: (p) => day(ev(p).from) + ' → ' + day(ev(p).to) },
    { h: 'Policy', v: (p) => el('span', { class: sign(ev(p).policy?.total_return) }, pct(ev(p).policy?.total_return)), num: true },
    { h: 'Buy & hold', v: (p) => pct(ev(p).buy_and_hold?.total_return), num: true },
    { h: 'Best rule', v: (p) => pct(ev(p).best_rule?.total_return), num: true },
    { h: 'Created', v: (p) => when(p.created_at) },
  ], list, { id: 'rl-policies', row: (p) => ({ 'data-policy-id': p.id }) })));

  let p;
  try {
    p = await api('/rl/policies/' + encodeURIComponent(id), o);
  } catch (e) {
    if (!aborted(e)) root.append(alertBox(e));
    return;
  }
  const e = p.evaluation || {};
  const req = p.request || {};
  const rule = e.best_rule_params ? Object.entries(e.best_rule_params).map(([k, v]) => k + ' ' + v).join(', ') : '';
  root.append(el('h2', null, (req.algo || '').toUpperCase() + ' on ' + req.symbol, ' ', el('code', { class: 'small' }, p.id)),
    el('div', { class: 'cols' },
      card('Out of sample, ' + day(e.from) + ' → ' + day(e.to) + ' (' + int(e.days) + ' days)',
        table([
          { h: 'Leg', v: ([k, n]) => (k === 'best_rule' && rule ? n + ' (' + rule + ')' : n) },
          { h: 'Return', v: ([k]) => el('span', { class: sign(e[k]?.total_return) }, pct(e[k]?.total_return)), num: true },
          { h: 'Sharpe', v: ([k]) => num(e[k]?.sharpe, 2), num: true },
          { h: 'Max drawdown', v: ([k]) => pct(e[k]?.max_drawdown), num: true },
          { h: 'Trades', v: ([k]) => int(e[k]?.trades), num: true },
        ], legs, { id: 'rl-legs', row: ([k]) => ({ 'data-leg': k }), caption: 'Every leg starts on the first bar after training, with the same costs; the rule was tuned on the training range only.' }),
        el('h3', null, 'Significance'),
        facts([
          ['vs buy and hold', el('span', { id: 'rl-verdict-bh' }, verdict(e.vs_buy_and_hold, 'buy and hold'))],
          ['Sharpe difference / day', num(e.vs_buy_and_hold?.sharpe_diff, 4) + ' [' + num(e.vs_buy_and_hold?.sharpe_diff_ci?.[0], 4) + ', ' + num(e.vs_buy_and_hold?.sharpe_diff_ci?.[1], 4) + ']'],
          ['vs best rule', el('span', { id: 'rl-verdict-rule' }, verdict(e.vs_best_rule, 'the best rule'))],
          ['Sharpe difference / day', num(e.vs_best_rule?.sharpe_diff, 4) + ' [' + num(e.vs_best_rule?.sharpe_diff_ci?.[0], 4) + ', ' + num(e.vs_best_rule?.sharpe_diff_ci?.[1], 4) + ']'],
          ['Bootstrap', int(e.vs_buy_and_hold?.resamples) + ' paired resamples of daily returns'],
          ['Actions taken', (e.action_counts || []).join(' / ')],
        ])),
      card('Lineage',
        facts([
          ['Trained', day(p.train_range?.[0]) + ' → ' + day(p.train_range?.[1]) + ', ' + int(p.curve?.at(-1)?.steps) + ' steps in ' + num(p.train_secs, 1) + ' s'],
          ['Seed', String(req.seed ?? '—')], ['Actions', req.actions || '—'], ['Reward', req.reward?.kind || '—'],
          ['Costs', num((req.commission_pct ?? 0) * 100, 2) + '% commission, ' + num(req.slippage_bps, 1) + ' bps slippage'],
          ['Regimes observed', p.regimes ? p.regimes.columns.join(', ') + ' (from ' + day(p.regimes.first_labelled) + ')' : 'none'],
          ['Network', p.obs_dim + ' inputs, hidden ' + (p.hidden || []).join('×')],
          ['Checkpoint', el('code', { id: 'rl-checkpoint' }, (p.checkpoint || '').slice(0, 16) + '…')],
          ['Data snapshot', el('code', null, (p.data_snapshot || '').slice(0, 16) + '…')],
          ['Audit trail', el('code', null, (e.audit_hash || '').slice(0, 16) + '…')],
        ], { id: 'rl-lineage' }))));

  const curve = (p.curve || []).filter((c) => Number.isFinite(c.mean_return));
  if (curve.length) {
    const fig = figure('reward-curve', 'Reward curve', 'Environment steps', 'Mean episode return', 'Episodes that ended in each rollout; training episodes are random windows of the training range.');
    root.append(fig);
    plot(fig, baseOpts({
      xLabel: 'Environment steps', yLabel: 'Mean episode return', time: false, yFmt: (v) => num(v, 3), height: 260,
      series: [{ label: 'Mean return', stroke: C.blue, width: 2, points: { show: curve.length < 60 } }],
    }), [curve.map((c) => c.steps), curve.map((c) => c.mean_return)]);
  } else {
    root.append(el('p', { class: 'muted' }, 'No episode ended during training: no reward curve.'));
  }
}
