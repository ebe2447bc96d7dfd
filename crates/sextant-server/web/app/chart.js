// A thin layer over uPlot: every chart sits in <figure id=name> with a caption naming it and
// its axes, is registered as window.__sextant.charts[name], and follows its container's width.
import { el } from './fmt.js';

export const C = {
  blue: '#2563eb', green: '#15803d', red: '#c62828', orange: '#d97706', purple: '#7c3aed',
  grey: '#6b7280', teal: '#0f766e', pink: '#db2777',
};
export const PALETTE = [C.blue, C.orange, C.green, C.purple, C.red, C.teal, C.pink, C.grey];
export const REGIME_COLORS = { bull: 'rgba(21,128,61,0.13)', bear: 'rgba(198,40,40,0.13)', sideways: 'rgba(107,114,128,0.13)', high_vol: 'rgba(217,119,6,0.16)' };

const live = [];
const registry = () => (window.__sextant = window.__sextant || { errors: [], charts: {} }).charts;

/** `<figure id=name>` with its caption; `plot` draws into it once it is in the page. */
export function figure(name, title, xLabel, yLabel, note) {
  return el('figure', { id: name, class: 'chart', 'data-x-label': xLabel, 'data-y-label': yLabel },
    el('figcaption', null, el('strong', null, title), ' — ', yLabel, ' against ', xLabel.toLowerCase(), note ? el('span', { class: 'muted' }, '. ' + note) : null),
    el('div', { class: 'plot' }));
}

const utc = (ts) => window.uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');

/**
 * Standard options for a chart with a time (seconds, UTC) or numeric x axis: labelled axes,
 * value formatters for the y axis and the legend.
 */
export function baseOpts({ xLabel, yLabel, yFmt = (v) => v, time = true, sync, series, height, yRange }) {
  const o = {
    height,
    series: [{ label: xLabel }, ...series],
    axes: [
      { label: xLabel, labelSize: 24, stroke: '#374151', grid: { stroke: '#e5e7eb' } },
      { label: yLabel, labelSize: 24, size: 64, stroke: '#374151', grid: { stroke: '#e5e7eb' }, values: (u, vals) => vals.map((v) => yFmt(v)) },
    ],
    scales: { x: { time } },
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  };
  if (yRange) o.scales.y = { range: yRange };
  if (time) o.tzDate = utc;
  else o.series[0].value = (u, v) => (v == null ? '—' : String(v));
  if (sync) o.cursor.sync = { key: sync, setSeries: false };
  for (const s of o.series.slice(1)) if (!s.value) s.value = (u, v) => (v == null ? '—' : yFmt(v));
  return o;
}

/** Charts in a sync group share the x range when one is zoomed. */
const groups = new Map();
function syncX(u, key) {
  if (!groups.has(key)) groups.set(key, new Set());
  const g = groups.get(key);
  g.add(u);
  u.__group = key;
  return (self, scale) => {
    if (scale !== 'x' || self.__syncing) return;
    const { min, max } = self.scales.x;
    for (const o of g) {
      if (o === self || (o.scales.x.min === min && o.scales.x.max === max)) continue;
      o.__syncing = true;
      o.setScale('x', { min, max });
      o.__syncing = false;
    }
  };
}

/** Draws a uPlot chart into `fig` (already in the document) and registers it. */
export function plot(fig, opts, data) {
  const box = fig.querySelector('.plot');
  const width = Math.max(260, box.clientWidth || 600);
  const height = opts.height || (width < 520 ? 220 : 300);
  const o = { ...opts, width, height };
  const key = opts.cursor && opts.cursor.sync && opts.cursor.sync.key;
  if (key) {
    o.hooks = { ...(o.hooks || {}) };
    const hook = (self, scale) => self.__setScale && self.__setScale(self, scale);
    o.hooks.setScale = [...(o.hooks.setScale || []), hook];
  }
  const u = new window.uPlot(o, data, box);
  if (key) u.__setScale = syncX(u, key);
  const name = fig.id;
  registry()[name] = u;
  let frame = 0;
  const ro = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const w = box.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 2) u.setSize({ width: Math.max(260, w), height: opts.height || (w < 520 ? 220 : 300) });
    });
  });
  ro.observe(box);
  live.push({ u, ro, name });
  return u;
}

/** Destroys every chart drawn (on leaving a page). */
export function destroyCharts() {
  for (const { u, ro, name } of live.splice(0)) {
    ro.disconnect();
    if (u.__group && groups.has(u.__group)) groups.get(u.__group).delete(u);
    u.destroy();
    if (registry()[name] === u) delete registry()[name];
  }
}

/** Index of the first x at or after t (x sorted). */
export function bisect(xs, t) {
  let lo = 0, hi = xs.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (xs[m] < t) lo = m + 1; else hi = m; }
  return lo;
}

/** Clips drawing to the plot area of `u`, runs `f(ctx)`, restores. */
export function inPlot(u, f) {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
  f(ctx, bbox);
  ctx.restore();
}

/** Candles from series 1-4 (open, high, low, close), drawn after the (invisible) series. */
export function candleHook(u) {
  const [xs, o, h, l, c] = u.data;
  const { min, max } = u.scales.x;
  const i0 = bisect(xs, min), i1 = Math.min(xs.length - 1, bisect(xs, max));
  const n = Math.max(1, i1 - i0 + 1);
  const px = window.devicePixelRatio || 1;
  const bw = Math.max(1 * px, Math.min(14 * px, (u.bbox.width / n) * 0.7));
  inPlot(u, (ctx) => {
    for (let i = i0; i <= i1; i++) {
      if (o[i] == null || c[i] == null) continue;
      const x = Math.round(u.valToPos(xs[i], 'x', true));
      const yo = u.valToPos(o[i], 'y', true), yc = u.valToPos(c[i], 'y', true);
      const yh = u.valToPos(h[i], 'y', true), yl = u.valToPos(l[i], 'y', true);
      ctx.fillStyle = c[i] >= o[i] ? C.green : C.red;
      ctx.fillRect(x - px / 2, yh, px, Math.max(px, yl - yh));
      ctx.fillRect(x - bw / 2, Math.min(yo, yc), bw, Math.max(px, Math.abs(yc - yo)));
    }
  });
}

/** Background bands: `spans` [{from, to, color}] in x units. */
export function bandsHook(spans) {
  return (u) => inPlot(u, (ctx, b) => {
    for (const s of spans) {
      const x0 = u.valToPos(s.from, 'x', true), x1 = u.valToPos(s.to, 'x', true);
      if (x1 < b.left || x0 > b.left + b.width) continue;
      ctx.fillStyle = s.color;
      ctx.fillRect(x0, b.top, Math.max(1, x1 - x0), b.height);
    }
  });
}

/** Dashed vertical lines at `xs` (x units), e.g. held bars. */
export function vlinesHook(xs, color) {
  return (u) => inPlot(u, (ctx, b) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
    ctx.setLineDash([6, 4]);
    for (const t of xs) {
      const x = u.valToPos(t, 'x', true);
      ctx.beginPath(); ctx.moveTo(x, b.top); ctx.lineTo(x, b.top + b.height); ctx.stroke();
    }
  });
}

/** Horizontal bars as plain HTML (importance plots): items [{label, value}], value ≥ 0 scale. */
export function hbars(id, caption, items, fmt) {
  const max = Math.max(1e-12, ...items.map((i) => Math.abs(i.value)));
  return el('figure', { id, class: 'hbars', 'data-x-label': caption.x, 'data-y-label': caption.y },
    el('figcaption', null, el('strong', null, caption.title), ' — ', caption.x, ' by ', caption.y.toLowerCase(), caption.note ? el('span', { class: 'muted' }, '. ' + caption.note) : null),
    el('ul', null, items.map((i) => el('li', null,
      el('span', { class: 'hb-l' }, i.label),
      el('span', { class: 'hb-track' }, el('span', { class: 'hb-bar' + (i.value < 0 ? ' neg' : ''), style: 'width:' + (100 * Math.abs(i.value) / max).toFixed(1) + '%' })),
      el('span', { class: 'hb-v' }, fmt(i.value))))));
}
