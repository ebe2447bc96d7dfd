// #/models (?id=mdl_…): the model registry, stages and promotion, scores, SHAP importance, and
// the MLOps panels (drift checks, promotion records, schedules; see mlops.js).
import { api, aborted } from '../api.js';
import { el, num, int, pct, sig, day, when, table, card, alertBox, facts } from '../fmt.js';
import { hbars } from '../chart.js';
import { mlopsPanels } from './mlops.js';

const STAGES = ['staging', 'production', 'archived'];

export async function render(root, ctx) {
  const o = { signal: ctx.signal };
  const [res, role] = await Promise.all([api('/models', o), ctx.role()]);
  const list = res.items || [];
  root.append(el('h1', null, 'Models'));
  if (!list.length) {
    root.append(el('p', { class: 'muted' }, 'No models registered. Train one with POST /api/v1/models/train (a job) or ', el('code', null, 'sextant train signal'), '.'));
    return;
  }
  const id = ctx.query.get('id') || list[0].id;
  const auc = (m) => m.metrics?.holdout?.auc ?? m.metrics?.cross_validation?.auc ?? m.metrics?.in_sample?.auc;
  root.append(card('Registry', table([
    { h: 'Model', v: (m) => el('a', { href: '#/models?id=' + encodeURIComponent(m.id), 'aria-current': m.id === id ? 'true' : null }, m.name + ' v' + m.version) },
    { h: 'Id', v: (m) => el('code', null, m.id) },
    { h: 'Stage', v: (m) => el('span', { class: 'badge ' + (m.stage === 'production' ? 'ok' : m.stage === 'archived' ? '' : 'warn') }, m.stage) },
    { h: 'Symbols', v: (m) => (m.request?.symbols || []).join(', ') }, { h: 'View', v: (m) => m.view + ' ' + (m.view_version || '') },
    { h: 'AUC (holdout/CV)', v: (m) => num(auc(m), 3), num: true }, { h: 'Created', v: (m) => when(m.created_at) },
  ], list, { id: 'models' })));

  const m = await api('/models/' + encodeURIComponent(id), o);
  const met = m.metrics || {};
  const canAct = role === 'analyst' || role === 'admin';
  const ops = await mlopsPanels(m, ctx, canAct);
  const stage = el('select', { id: 'stage' }, STAGES.map((s) => el('option', { value: s, selected: s === m.stage }, s)));
  const reason = el('input', { id: 'promote-reason', name: 'reason', type: 'text', maxlength: 500, autocomplete: 'off', placeholder: 'kept in the promotion record' });
  const promote = el('button', { type: 'button', id: 'promote' }, 'Move to stage');
  const msg = el('div', { 'aria-live': 'polite' });
  const badge = canAct ? null : el('span', { class: 'badge warn' }, 'analyst or admin');
  const stageNow = el('span', { class: 'badge', id: 'model-stage' }, m.stage);
  promote.addEventListener('click', async () => {
    msg.replaceChildren();
    promote.disabled = true;
    try {
      const body = { stage: stage.value };
      if (reason.value.trim()) body.reason = reason.value.trim();
      const r = await api('/models/' + encodeURIComponent(m.id) + '/promote', { method: 'POST', body, signal: ctx.signal });
      stageNow.textContent = r.stage || stage.value;
      reason.value = '';
      msg.append(el('p', { role: 'status', class: 'note' }, m.name + ' v' + m.version + ' is now ' + stageNow.textContent + '. ', el('a', { href: '#/models?id=' + encodeURIComponent(m.id) + '&t=' + Date.now() }, 'Reload the registry')));
      await ops.reloadPromotions();
    } catch (e) {
      if (aborted(e)) return;
      msg.append(e.status === 403 ? el('div', { role: 'alert', class: 'alert' }, 'Refused: ' + e.detail + ' (403)') : alertBox(e));
    }
    promote.disabled = false;
  });

  const scoreRows = ['auc', 'log_loss', 'baseline_log_loss', 'brier', 'baseline_brier', 'accuracy', 'base_rate', 'ece', 'n'];
  const sets = [['In sample', met.in_sample], ['Cross-validated', met.cross_validation], ['Holdout', met.holdout]].filter(([, v]) => v && typeof v === 'object');
  const fmtScore = (k, v) => (k === 'n' ? int(v) : k === 'accuracy' || k === 'base_rate' ? pct(v, 1) : num(v, 4));
  const imp = (met.importance || []).map((x) => (Array.isArray(x) ? { label: x[0], value: x[1] } : { label: x.feature || x.name, value: x.value ?? x.importance }));

  root.append(el('h2', null, m.name + ' v' + m.version, ' ', el('code', { class: 'small' }, m.id)),
    el('div', { class: 'cols' },
      card('Stage', el('p', null, 'Current stage: ', stageNow),
        el('div', { class: 'inline-form' }, el('div', { class: 'field' }, el('label', { for: 'stage' }, 'New stage'), stage),
          el('div', { class: 'field' }, el('label', { for: 'promote-reason' }, 'Reason (optional)'), reason), promote, badge),
        el('p', { class: 'muted small' }, 'A new production model archives the previous production model of the same name.'), msg,
        el('h3', null, 'Provenance'),
        facts(
          [['Trained', day(met.train_first) + ' → ' + day(met.train_last)], ['Samples', int(met.train_samples) + ' train / ' + int(met.test_samples) + ' test'],
            ['Label', m.request?.label?.kind || '—'], ['Validation', m.request?.validation?.kind || '—'], ['Seed', String(m.seed ?? '—')],
            ['Code', m.code_version || '—'], ['Artifact', (m.artifact_sha256 || '').slice(0, 16) + '… (' + int(m.artifact_bytes) + ' bytes)']])),
      card('Scores', sets.length ? table([{ h: 'Score', v: (k) => k.replace(/_/g, ' ') }, ...sets.map(([n, s]) => ({ h: n, v: (k) => fmtScore(k, s[k]), num: true }))],
        scoreRows.filter((k) => sets.some(([, s]) => s[k] !== undefined)), { id: 'model-scores', caption: 'Lower log loss and Brier than the baseline (always the base rate) mean skill; ECE is the calibration error.' })
        : el('p', { class: 'muted' }, 'No scores recorded.'))));
  if (imp.length) {
    root.append(hbars('importance', { title: 'Feature importance', x: 'Mean |SHAP| (log-odds)', y: 'Feature', note: 'Mean absolute SHAP contribution over the training samples' },
      imp.sort((a, b) => b.value - a.value), (v) => sig(v, 3)));
  }
  root.append(ops.drift, ops.promotions, ops.schedules);
}
