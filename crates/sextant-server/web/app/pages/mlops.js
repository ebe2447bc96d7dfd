// The Models page's MLOps panels: the selected model's drift checks (with a form to run one),
// the promotion records of its name, and the retraining / drift-check schedules the key sees.
import { api, aborted } from '../api.js';
import { el, num, int, sig, day, when, parseTs, table, card, alertBox, facts, DASH } from '../fmt.js';

const BAND_CLASS = { none: 'ok', warn: 'warn', alert: 'bad' };
const bandBadge = (b, attrs) => el('span', { class: 'badge ' + (BAND_CLASS[b] || ''), 'data-band': b || 'unknown', ...attrs }, b || '?');
const yesNo = (v) => (v ? 'yes' : 'no');
const pval = (p) => (Number.isFinite(p) ? (p < 0.001 ? '< 0.001' : sig(p, 2)) : DASH);
const refused = (e) => (e.status === 403 ? el('div', { role: 'alert', class: 'alert' }, 'Refused: ' + e.detail + ' (403)') : alertBox(e));
const panel = (id, title, ...kids) => { const c = card(title, ...kids); c.id = id; return c; };
const today = () => new Date().toISOString().slice(0, 10);
// PSI desc; a PSI that could not be computed (null) sorts last.
const byPsi = (a, b) => (Number.isFinite(b.psi) ? b.psi : -Infinity) - (Number.isFinite(a.psi) ? a.psi : -Infinity);

/** The latest drift check (`checks` newest first): band, window, judged, features by PSI. */
function driftLatest(checks) {
  if (!checks.length) return el('p', { class: 'muted', id: 'drift-none' }, 'No drift check yet for this model. Run one below (or schedule one with POST /api/v1/mlops/schedules).');
  const d = checks[0];
  const r = d.report || {};
  const bands = r.bands || {};
  const pred = r.prediction;
  const feats = [...(r.features || [])].sort(byPsi);
  return el('div', { 'data-check-id': d.id },
    el('p', null, 'Latest check: ', bandBadge(r.band, { id: 'drift-band' }), ' ',
      el('span', { class: 'muted small' }, 'computed ' + when(d.computed_at) + ' · ', el('code', null, d.id))),
    r.judged ? null : el('p', { class: 'note' }, 'Not judged: the window has ' + int(d.current_rows) + ' rows, fewer than the ' + int(r.min_current_rows) +
      ' a PSI is judged on, so the band is reported as none.'),
    facts([
      ['Window checked', day(d.from) + ' → ' + day(d.to) + ' (' + int(d.current_rows) + ' rows)'],
      ['Reference (training)', day(d.reference_from) + ' → ' + day(d.reference_to) + ' (' + int(d.reference_rows) + ' rows)'],
      ['Judged', yesNo(r.judged)],
      ['Bands (PSI)', 'warn ≥ ' + sig(bands.warn, 3) + ', alert ≥ ' + sig(bands.alert, 3)],
      ['Predictions', pred ? el('span', null, 'PSI ' + num(pred.psi, 3) + ' ', bandBadge(pred.band)) : '—'],
      ['Alerting / warning', int((r.alerting || []).length) + ' / ' + int((r.warning || []).length)],
    ], { id: 'drift-facts' }),
    feats.length ? table([
      { h: 'Feature', v: (f) => el('code', null, f.feature) },
      { h: 'PSI', v: (f) => num(f.psi, 4), num: true },
      { h: 'Null PSI', v: (f) => num(f.null_psi, 4), num: true },
      { h: 'Band', v: (f) => bandBadge(f.band) },
      { h: 'KS D', v: (f) => num(f.ks?.d, 3), num: true },
      { h: 'KS p', v: (f) => pval(f.ks?.p), num: true },
      { h: 'KS agrees', v: (f) => yesNo(f.ks_corroborates) },
      { h: 'Rows (ref / cur)', v: (f) => int(f.n_reference) + ' / ' + int(f.n_current), num: true },
    ], feats, { id: 'drift-features', row: (f) => ({ 'data-feature': f.feature }),
      caption: 'Features by PSI, highest first. Null PSI: what sampling alone would give; KS agrees when D ≥ 0.1 and p < 0.01.' })
      : el('p', { class: 'muted' }, 'No feature could be compared.'),
    (r.excluded || []).length ? el('p', { class: 'muted small' }, 'Left out: ',
      r.excluded.map((x) => (Array.isArray(x) ? x[0] + ' (' + x[1] + ')' : String(x))).join('; ')) : null,
    checks.length > 1 ? el('details', null, el('summary', null, 'Earlier checks (' + (checks.length - 1) + ')'),
      table([
        { h: 'Computed', v: (c) => when(c.computed_at) }, { h: 'Window', v: (c) => day(c.from) + ' → ' + day(c.to) },
        { h: 'Rows', v: (c) => int(c.current_rows), num: true }, { h: 'Band', v: (c) => bandBadge(c.report?.band) },
        { h: 'Judged', v: (c) => yesNo(c.report?.judged) },
      ], checks.slice(1), { id: 'drift-history' })) : null);
}

/** The drift card: the latest check and a form to run one on a window. */
function driftPanel(m, checks, ctx, canAct) {
  const body = el('div', { id: 'drift-latest' }, driftLatest(checks));
  const last = checks[0];
  const after = Number.isFinite(parseTs(m.metrics?.train_last)) ? day(parseTs(m.metrics.train_last) + 86400000) : '';
  const from = el('input', { id: 'drift-from', name: 'from', type: 'date', min: '1800-01-01', max: '2199-12-31', value: last ? day(last.from) : after });
  const to = el('input', { id: 'drift-to', name: 'to', type: 'date', min: '1800-01-01', max: '2199-12-31', value: last ? day(last.to) : today() });
  const run = el('button', { type: 'submit', id: 'drift-run' }, 'Check drift');
  const msg = el('div', { id: 'drift-msg', 'aria-live': 'polite' });
  const form = el('form', { class: 'inline-form', id: 'drift-form', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'drift-from' }, 'From'), from),
    el('div', { class: 'field' }, el('label', { for: 'drift-to' }, 'To'), to),
    run, canAct ? null : el('span', { class: 'badge warn' }, 'analyst or admin'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.replaceChildren();
    if (!from.value || !to.value || from.value > to.value) {
      msg.append(el('div', { role: 'alert', class: 'alert' }, 'Give a window: a From date on or before the To date.'));
      return;
    }
    run.disabled = true;
    try {
      const d = await api('/models/' + encodeURIComponent(m.id) + '/drift', { method: 'POST', body: { from: from.value, to: to.value }, signal: ctx.signal });
      checks.unshift(d);
      body.replaceChildren(driftLatest(checks));
      msg.append(el('p', { role: 'status', class: 'note' }, 'Checked ' + day(d.from) + ' → ' + day(d.to) + ': band ' + (d.report?.band || '?') + '.'));
    } catch (e) {
      if (aborted(e)) return;
      msg.append(refused(e));
    }
    run.disabled = false;
  });
  return panel('drift', 'Drift', el('p', { class: 'muted small' }, 'Each feature and the predictions in a window against the model\u2019s training rows: PSI over the reference deciles, with the exact two-sample KS test beside it.'),
    body, el('h3', null, 'Check a window'), form, msg);
}

function actor(a) {
  if (!a) return '—';
  if (a.kind === 'key') return el('span', null, 'key ', el('code', null, a.id));
  if (a.kind === 'local') return 'command line';
  if (a.kind === 'rule') {
    return el('span', null, 'promotion rule', a.schedule ? el('span', { class: 'muted small' }, ' · schedule ', el('code', null, a.schedule)) : null,
      a.job ? el('span', { class: 'muted small' }, ' · job ', el('code', null, a.job)) : null);
  }
  return String(a.kind || '?');
}

function reason(p) {
  const d = p.decision, ev = d && d.evidence;
  return el('div', null, p.reason || (d ? '' : '—'),
    d ? el('div', { class: 'muted small' }, 'Rule: ' + (d.promote ? 'promote' : 'keep production') + (d.reason && d.reason !== p.reason ? ' · ' + d.reason : ''),
      ev ? ' · ' + int(ev.days) + ' days, log loss ' + num(ev.loss_candidate, 4) + ' vs ' + num(ev.loss_production, 4) +
        ' (diff ' + sig(ev.mean_diff, 3) + ', 95% CI ' + sig(ev.mean_diff_ci?.[0], 3) + ' to ' + sig(ev.mean_diff_ci?.[1], 3) + '), AUC ' +
        num(ev.auc_candidate, 3) + ' vs ' + num(ev.auc_production, 3) : '',
      p.compared_with ? el('span', null, ' · against ', el('code', null, p.compared_with)) : null) : null);
}

function promotionsTable(m, recs) {
  if (!recs.length) return el('p', { class: 'muted', id: 'promotions-none' }, 'No stage changes recorded for ' + m.name + '.');
  return table([
    { h: 'When', v: (p) => when(p.at) },
    { h: 'Version', v: (p) => el('a', { href: '#/models?id=' + encodeURIComponent(p.model_id), 'aria-current': p.model_id === m.id ? 'true' : null }, 'v' + p.model_version) },
    { h: 'Stage change', v: (p) => p.from_stage + ' → ' + p.to_stage },
    { h: 'Applied', v: (p) => el('span', { class: 'badge ' + (p.applied ? 'ok' : '') }, yesNo(p.applied)) },
    { h: 'Who', v: (p) => actor(p.actor) },
    { h: 'Reason', v: reason },
  ], recs, { id: 'promotions', class: 'wrap', row: (p) => ({ 'data-id': p.id }), caption: 'Stage changes and promotion-rule decisions for ' + m.name + ', newest first.' });
}

function trigger(t) {
  if (!t || t.kind === 'every') return 'every slot';
  if (t.kind === 'drift') return el('span', null, 'drift at ', bandBadge(t.band));
  if (t.kind === 'age') return 'older than ' + int(t.max_days) + ' days';
  return String(t.kind);
}

function schedulesTable(list, m) {
  if (!list.length) return el('p', { class: 'muted', id: 'schedules-none' }, 'No schedules. Create one with POST /api/v1/mlops/schedules or ', el('code', null, 'sextant mlops schedule'), '.');
  return table([
    { h: 'Name', v: (s) => el('span', null, s.spec?.name || s.id, s.enabled === false ? [' ', el('span', { class: 'badge warn' }, 'paused')] : null) },
    { h: 'Model', v: (s) => (s.spec?.model === m.name ? el('strong', null, s.spec.model) : s.spec?.model || '—') },
    { h: 'Cron (UTC)', v: (s) => el('span', null, el('code', null, s.spec?.cron || ''), el('div', { class: 'muted small' }, s.describe || '')) },
    { h: 'Trigger', v: (s) => trigger(s.spec?.trigger) },
    { h: 'Action', v: (s) => (s.spec?.action || 'retrain').replace(/_/g, ' ') },
    { h: 'Next run', v: (s) => when(s.next_run_ms) },
    { h: 'Last job', v: (s) => (s.last_job_id ? el('span', null, el('code', null, s.last_job_id), el('div', { class: 'muted small' }, 'slot ' + when(s.last_fired_ms))) : '—') },
  ], list, { id: 'schedules', row: (s) => ({ 'data-id': s.id }), caption: 'Retraining and drift-check schedules your key can see (all of them for an admin). A retrain lands in staging; only the promotion rule or a person moves it.' });
}

/**
 * Loads and builds the panels of model `m`: {drift, promotions, schedules} (card nodes) and
 * reloadPromotions() to refresh the promotion records after a stage change.
 */
export async function mlopsPanels(m, ctx, canAct) {
  const o = { signal: ctx.signal };
  const promosPath = '/mlops/promotions?model=' + encodeURIComponent(m.name);
  // One panel failing to load shows its error; the rest of the page still renders.
  const soft = (p) => p.catch((e) => (aborted(e) ? Promise.reject(e) : { error: e }));
  const [checks, promos, schedules] = await Promise.all([
    soft(api('/models/' + encodeURIComponent(m.id) + '/drift', o)), soft(api(promosPath, o)), soft(api('/mlops/schedules', o)),
  ]);
  const or = (x, f) => (x && x.error ? alertBox(x.error) : f(Array.isArray(x) ? x : []));
  const promoBody = el('div', null, or(promos, (r) => promotionsTable(m, r)));
  const promoMsg = el('div', { 'aria-live': 'polite' });
  return {
    drift: checks && checks.error ? panel('drift', 'Drift', alertBox(checks.error)) : driftPanel(m, Array.isArray(checks) ? checks : [], ctx, canAct),
    promotions: panel('promotion-records', 'Promotions', promoBody, promoMsg),
    schedules: panel('mlops-schedules', 'Schedules', or(schedules, (r) => schedulesTable(r, m))),
    async reloadPromotions() {
      promoMsg.replaceChildren();
      try {
        promoBody.replaceChildren(promotionsTable(m, await api(promosPath, o)));
      } catch (e) {
        if (!aborted(e)) promoMsg.append(alertBox(e, 'Could not reload the promotion records: '));
      }
    },
  };
}
