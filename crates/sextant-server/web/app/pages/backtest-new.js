// #/backtests/new: the run form, generated from the chosen strategy's JSON Schema.
import { api, followJob, aborted } from '../api.js';
import { el, alertBox, day, pct } from '../fmt.js';
import { schemaFields, field, setFieldError, clearErrors } from '../form.js';

const PORTFOLIO = new Set(['topk_dropout', 'topk_weighted', 'long_short']);

export async function render(root, ctx) {
  const [strategies, symbols, role] = await Promise.all([
    api('/strategies', { signal: ctx.signal }),
    api('/market-data/symbols', { signal: ctx.signal }),
    ctx.role(),
  ]);
  const wanted = ctx.query.get('strategy');
  const strategy = el('select', { id: 'strategy', 'aria-describedby': 'strategy-desc strategy-err' },
    strategies.map((s) => el('option', { value: s.name, selected: s.name === (wanted || 'sma_cross') }, s.name)));
  const desc = el('p', { id: 'strategy-desc', class: 'muted small' });
  const paramsBox = el('div');
  let params = null;

  const symbol = el('select', { id: 'symbol', name: 'symbol' },
    symbols.map((s) => el('option', { value: s.symbol, selected: s.symbol === 'MSFT' }, s.symbol + ' (' + day(s.first) + ' → ' + day(s.last) + ')')));
  const symHelp = el('span');
  const from = el('input', { id: 'from', name: 'from', type: 'date', min: '1800-01-01', max: '2199-12-31' });
  const to = el('input', { id: 'to', name: 'to', type: 'date', min: '1800-01-01', max: '2199-12-31' });
  const cash = el('input', { id: 'initial_cash', name: 'initial_cash', type: 'number', min: 1, step: 'any', value: 10000 });
  const fill = el('select', { id: 'fill', name: 'fill' },
    el('option', { value: 'next_open' }, 'next bar open'), el('option', { value: 'signal_close' }, 'signal bar close'));
  const commission = el('input', { id: 'commission_pct', name: 'commission_pct', type: 'number', min: 0, step: 'any', value: 0 });
  const fixed = el('input', { id: 'commission_fixed', name: 'commission_fixed', type: 'number', min: 0, step: 'any', value: 0 });
  const slippage = el('input', { id: 'slippage_bps', name: 'slippage_bps', type: 'number', min: 0, step: 'any', value: 0 });
  const run = el('button', { id: 'run', type: 'submit' }, 'Run backtest');
  const out = el('div', { id: 'run-status', 'aria-live': 'polite' });

  const general = el('fieldset', { class: 'grid' }, el('legend', null, 'What to test'),
    el('div', { class: 'field', 'data-field': 'strategy' }, el('label', { for: 'strategy' }, 'Strategy'), strategy, desc,
      el('p', { class: 'field-error', id: 'strategy-err' })),
    field('symbol', ['Symbol', symHelp], symbol),
    field('from', 'From (first session, optional)', from),
    field('to', 'To (last session, optional)', to));
  const sim = el('fieldset', { class: 'grid', 'data-field': 'sim' }, el('legend', null, 'Simulator'),
    field('initial_cash', 'Initial cash ($)', cash),
    field('fill', 'Fill orders at', fill),
    field('commission_pct', 'Commission (fraction of value, e.g. 0.001)', commission),
    field('commission_fixed', 'Fixed commission per order ($)', fixed),
    field('slippage_bps', 'Slippage (basis points)', slippage),
    el('p', { class: 'field-error', id: 'sim-err' }));
  const form = el('form', { id: 'backtest-form', novalidate: true }, general, paramsBox, sim,
    el('div', { class: 'toolbar' }, run, role === 'viewer' ? el('span', { class: 'badge warn' }, 'analyst or admin: a viewer key is refused') : null,
      el('a', { href: '#/backtests' }, 'Cancel')), out);

  const pick = () => {
    const s = strategies.find((x) => x.name === strategy.value) || strategies[0];
    desc.textContent = s.description || '';
    params = schemaFields(s.schema || {});
    paramsBox.replaceChildren(params.node);
    const many = PORTFOLIO.has(s.name);
    symbol.multiple = many;
    symbol.size = many ? Math.min(8, symbols.length) : 0;
    if (!many) symbol.removeAttribute('size');
    symHelp.textContent = many ? ' (several: this strategy ranks a portfolio; Ctrl/Shift-click)' : '';
  };
  strategy.addEventListener('change', pick);
  pick();

  const errorAt = (f, message) => {
    const [head, ...rest] = String(f || '').split('.');
    const leaf = rest.join('.');
    if (head === 'params' && leaf && setFieldError(paramsBox, leaf.split(/[.[]/)[0], message)) return;
    const name = /^symbols?(\[|$)/.test(head) || head === 'universe' ? 'symbol' : head;
    if (['strategy', 'from', 'to'].includes(name)) { form.querySelector('#' + name + '-err').textContent = message; return; }
    if (name === 'symbol' && setFieldError(general, 'symbol', message)) return;
    if (setFieldError(sim, leaf || name, message)) return;
    if (head === 'sim' || ['initial_cash', 'fill', 'costs', 'shares', 'sizer'].includes(head)) { sim.querySelector('#sim-err').textContent = message; return; }
    out.append(el('p', { class: 'field-error' }, (f ? f + ': ' : '') + message));
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    for (const e of form.querySelectorAll('#strategy-err, #sim-err')) e.textContent = '';
    out.replaceChildren();
    let body;
    try {
      body = {
        strategy: strategy.value,
        params: params.read(),
        symbols: [...symbol.selectedOptions].map((o) => o.value),
        sim: {
          initial_cash: Number(cash.value), fill: fill.value,
          costs: { commission_pct: Number(commission.value || 0), commission_fixed: Number(fixed.value || 0), slippage_bps: Number(slippage.value || 0) },
        },
      };
    } catch (e) {
      if (e && e.field) { setFieldError(paramsBox, e.field, e.message); out.append(el('p', { role: 'alert', class: 'alert' }, 'Check the highlighted field.')); return; }
      throw e;
    }
    if (from.value) body.from = from.value;
    if (to.value) body.to = to.value;
    run.disabled = true;
    run.textContent = 'Running…';
    try {
      const res = await api('/backtests', { method: 'POST', body, full: true, signal: ctx.signal });
      if (res.status === 201) { location.hash = '#/backtests/' + res.data.id; return; }
      // 202: too large to run inline; a job runs it.
      const job = res.data;
      const bar = el('progress', { max: 1, value: 0 });
      const msg = el('span', { class: 'muted' }, 'queued');
      out.append(el('p', null, 'Queued as job ', el('a', { href: '#/jobs' }, el('code', null, job.id)), ': '), bar, ' ', msg);
      const last = await followJob(job.id, (e) => {
        bar.value = (e.progress && e.progress.fraction) || 0;
        msg.textContent = e.status + (e.progress && e.progress.message ? ': ' + e.progress.message : '') + ' (' + pct(bar.value, 0) + ')';
      }, ctx.signal);
      if (last.status === 'succeeded' && last.result && last.result.run_id) { location.hash = '#/backtests/' + last.result.run_id; return; }
      out.append(el('p', { role: 'alert', class: 'alert' }, 'The job ended ' + last.status + (last.error ? ': ' + last.error : '') + '.'));
    } catch (e) {
      if (aborted(e)) return;
      for (const fe of e.errors || []) errorAt(fe.field, fe.message);
      out.prepend(alertBox(e));
    } finally {
      run.disabled = false;
      run.textContent = 'Run backtest';
    }
  });

  root.append(el('h1', null, 'New backtest'),
    el('p', { class: 'muted' }, 'Parameters come from the strategy\u2019s JSON Schema; empty optional fields take the server\u2019s defaults. Small runs answer at once; large ones run as a job.'),
    form);
}
