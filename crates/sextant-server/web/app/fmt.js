// Formatting, time parsing and small DOM helpers. API data only ever reaches the page as text.

const nf = new Map();
function fmtr(min, max) {
  const k = min + ':' + max;
  if (!nf.has(k)) nf.set(k, new Intl.NumberFormat('en-US', { minimumFractionDigits: min, maximumFractionDigits: max }));
  return nf.get(k);
}
const ok = (v) => typeof v === 'number' && Number.isFinite(v);
export const DASH = '—';

/** A number with thousands separators and `d` decimals. */
export function num(v, d = 2) { return ok(v) ? fmtr(d, d).format(v) : DASH; }
/** An integer with thousands separators. */
export function int(v) { return ok(v) ? fmtr(0, 0).format(v) : DASH; }
/** A fraction as a percentage (0.1234 → 12.34%). */
export function pct(v, d = 2) { return ok(v) ? fmtr(d, d).format(v * 100) + '%' : DASH; }
/** Dollars with cents. */
export function money(v) {
  return ok(v) ? (v < 0 ? '-$' : '$') + fmtr(2, 2).format(Math.abs(v)) : DASH;
}
/** About `s` significant digits, trailing zeros dropped. */
export function sig(v, s = 4) {
  if (!ok(v)) return DASH;
  if (v === 0) return '0';
  const mag = Math.floor(Math.log10(Math.abs(v)));
  const d = Math.max(0, Math.min(10, s - 1 - mag));
  return fmtr(0, d).format(v);
}

/**
 * Milliseconds since the epoch from an API time: RFC 3339 (`2008-09-26T00:00:00Z`), the older
 * `2008-09-26 00:00:00` (UTC, no zone), a date alone, nanosecond fractions, or epoch seconds.
 */
export function parseTs(s) {
  if (typeof s === 'number') return s < 1e11 ? s * 1000 : s;
  if (typeof s !== 'string' || !s) return NaN;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(s.trim());
  if (!m) return Date.parse(s);
  const ms = m[7] ? Number((m[7] + '00').slice(0, 3)) : 0;
  let t = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0), ms);
  if (m[8] && m[8].toUpperCase() !== 'Z') {
    const z = m[8].replace(':', '');
    const off = (+z.slice(1, 3) * 60 + +z.slice(3, 5)) * 60000;
    t -= z[0] === '-' ? -off : off;
  }
  return t;
}
/** The time of a bar or equity point: for daily and coarser bars its session date when the
 * API gives one, else its ts (intraday bars: always ts). */
export function pointTime(p, intraday) { return parseTs((!intraday && p.session_date) || p.ts); }
/** YYYY-MM-DD (UTC) of an API time or of milliseconds. */
export function day(v) {
  const t = parseTs(v);
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 10) : DASH;
}
/** YYYY-MM-DD HH:MM UTC of an API time. */
export function when(v) {
  const t = parseTs(v);
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : DASH;
}
/** snake_case to "Snake case". */
export function human(k) {
  const s = String(k).replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Builds an element: `el('a', {href: '#/x', class: 'c', on: {click: f}}, 'text', child)`.
 * Attributes are set with setAttribute, text with text nodes; nothing is parsed as HTML.
 */
export function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'on') for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
      else if (k === 'text') e.textContent = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') e[k] = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  add(e, kids);
  return e;
}
function add(e, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) add(e, k);
    else e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

/** A `role=alert` box for an API error (or any error): title, detail and status. */
export function alertBox(err, prefix) {
  const status = err && err.status ? ' (' + err.status + ')' : '';
  const detail = (err && (err.detail || err.message)) || String(err);
  const title = err && err.title && err.title !== detail ? err.title + ': ' : '';
  return el('div', { role: 'alert', class: 'alert' }, (prefix || '') + title + detail + status);
}

/**
 * A table: `cols` is [{h: 'Header', v: row => text|Node, num: true}], `rows` the items;
 * `opts.caption` names it, `opts.row(item)` gives each <tr>'s attributes, other keys go on <table>.
 */
export function table(cols, rows, opts = {}) {
  const { caption, row, ...attrs } = opts;
  return el('div', { class: 'table-wrap' },
    el('table', attrs,
      caption ? el('caption', null, caption) : null,
      el('thead', null, el('tr', null, cols.map((c) => el('th', { scope: 'col', class: c.num ? 'n' : null }, c.h)))),
      el('tbody', null, rows.map((r) => el('tr', row ? row(r) : null,
        cols.map((c) => el('td', { class: c.num ? 'n' : null }, c.v(r))))))));
}

/** A small labelled figure: `kpi('Sharpe', '0.57')`. */
export function kpi(label, value, cls) {
  return el('div', { class: 'kpi' + (cls ? ' ' + cls : '') }, el('span', { class: 'kpi-l' }, label), el('span', { class: 'kpi-v' }, value));
}
/** A card section with a heading. */
export function card(title, ...kids) {
  return el('section', { class: 'card' }, el('h2', null, title), ...kids);
}
/** A definition list of [label, value] pairs, each pair grouped for layout. */
export function facts(pairs, attrs) {
  return el('dl', { class: 'facts', ...attrs }, pairs.map(([k, v]) => el('div', null, el('dt', null, k), el('dd', null, v))));
}
/** Class for a signed number (pos/neg) for colouring. */
export function sign(v) { return ok(v) ? (v > 0 ? 'pos' : v < 0 ? 'neg' : '') : ''; }
