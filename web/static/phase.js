// The phase diagram: log10(‖∂E/∂s_1‖/‖∂E/∂s_T‖), the decades the error
// signal loses (< 0, vanishing) or gains (> 0, exploding) over the whole
// sequence, over a grid of two settings, the others as set. The server
// streams it row by row (phaseStart, phaseRow…, phaseDone); the current
// settings are a dot that can be dragged, which moves them everywhere.
// The colour scale is the server's export's (internal/render/phase.go).

import { describe as describePlot, num as prose } from './describe.js';
import { t, addStrings } from './i18n.js';
import { Analysis, isRateLimited } from './socket.js';
import { fitCanvas, SPECIAL } from './heatmap.js';
import { makePanel } from './tabs.js';
import { fmtNum } from './plot.js';
import { settingsQuery, SETTINGS } from './url.js';
import { appliesTo } from './schema.js';
import { PHASE_TEXT } from './phase-text.js';

addStrings(PHASE_TEXT);

const AXES = ['gain', 'T', 'H', 'forgetBias'];

export const phase = {
  name: 'phase',
  // The axes, kept in the URL as phaseX and phaseY.
  params: { phaseX: AXES, phaseY: ['T', 'gain', 'H', 'forgetBias'] },
  create,
};

// Each axis' range, widened to take in the current value (so the dot is
// always on the diagram), and the step the dot moves by.
const RANGES = { gain: [0, 3], T: [2, 200], H: [2, 64], forgetBias: [-2, 4] };
const SNAP = { gain: 0.01, T: 1, H: 1, forgetBias: 0.05 };
// POINTS is the grid's size along each axis, when the work allows it.
const POINTS = 48;
const MIN_POINTS = 8;
// WORK_BUDGET is the server's phaseWorkBudget (internal/api/phase.go):
// a diagram may cost this many runs at the work limit. The page sizes
// the grid of a recurrent cell by it; for any other model, and whenever
// its estimate is off, the server's refusal makes the grid smaller.
const WORK_BUDGET = 8;
const GATES = { rnn: 1, lstm: 4, gru: 3 };

// The diverging scale, as the export's: white at 0, to dark blue at the
// lowest value, to dark brown at the highest, at most CAP decades.
const CAP = 40;
const VANISHING = [[0xf7, 0xf7, 0xf7], [0xd1, 0xe5, 0xf0], [0x92, 0xc5, 0xde], [0x43, 0x93, 0xc3], [0x21, 0x66, 0xac], [0x05, 0x30, 0x61]];
const EXPLODING = [[0xf7, 0xf7, 0xf7], [0xfe, 0xe0, 0xb6], [0xfd, 0xb8, 0x63], [0xe0, 0x82, 0x14], [0xb3, 0x58, 0x06], [0x7f, 0x3b, 0x08]];
const PENDING = '#e9e9e6';

// value reads a number of the wire: "NaN", "Infinity" and "-Infinity"
// stand for themselves.
function value(v) {
  return typeof v === 'number' ? v : Number(v);
}

// scaleOf is the scale's ends in whole decades, at least one each side
// of 0 and at most CAP, from the values so far.
export function scaleOf(rows) {
  let lo = -1;
  let hi = 1;
  for (const row of rows) {
    if (!row) continue;
    for (const v of row) {
      if (!Number.isFinite(v)) continue;
      lo = Math.min(lo, Math.floor(v));
      hi = Math.max(hi, Math.ceil(v));
    }
  }
  return [Math.max(lo, -CAP), Math.min(hi, CAP)];
}

// colorOf is the colour of v decades on the scale lo..hi.
export function colorOf(v, lo, hi) {
  if (Number.isNaN(v) || v === Infinity) return SPECIAL.nonFinite;
  if (v === -Infinity) return SPECIAL.zero;
  let stops = EXPLODING;
  let f = v / hi;
  if (v < 0) {
    stops = VANISHING;
    f = v / lo;
  }
  f = Math.min(f, 1);
  const seg = f * (stops.length - 1);
  const i = Math.min(Math.floor(seg), stops.length - 2);
  const frac = seg - i;
  return [0, 1, 2].map((ch) => Math.round(stops[i][ch] + (stops[i + 1][ch] - stops[i][ch]) * frac));
}

// edges are the cells' boundaries: halfway between neighbouring values
// and as far beyond the ends.
function edges(values) {
  const n = values.length;
  const out = new Array(n + 1);
  for (let i = 1; i < n; i++) out[i] = (values[i - 1] + values[i]) / 2;
  out[0] = values[0] - (out[1] - values[0]);
  out[n] = values[n - 1] + (values[n - 1] - out[n - 1]);
  return out;
}

// niceTicks returns round values within lo..hi, about n of them.
function niceTicks(lo, hi, n) {
  const raw = (hi - lo) / Math.max(1, n);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-')) e.dataset[k.slice(5).replace(/-(\w)/g, (m, c) => c.toUpperCase())] = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function create(page) {
  const { settings, view } = page;
  const sheet = el('link', { rel: 'stylesheet', href: '/static/phase.css' });
  document.head.append(sheet);

  // ---- the panel ----
  const panel = makePanel('phase');
  const status = el('span', { class: 'status', id: 'phase-status', role: 'status', 'aria-live': 'polite' });
  const selX = el('select', { id: 'phase-x' });
  const selY = el('select', { id: 'phase-y' });
  const exports = ['png', 'svg', 'pdf', 'csv'].map((f) => el('button', {
    type: 'button', id: `phase-export-${f}`, 'data-format': f, 'data-i18n': `export${f.toUpperCase()}`, 'data-i18n-title': 'export.title',
  }));
  const banner = el('p', { id: 'phase-error', class: 'banner warn', role: 'alert' });
  banner.hidden = true;
  const canvas = el('canvas', { id: 'phase-canvas', class: 'map-canvas phase-canvas', role: 'img', 'data-i18n-aria-label': 'phase.aria' });
  const dot = el('div', { id: 'phase-dot', class: 'phase-dot', role: 'slider', tabindex: '0', 'data-i18n-aria-label': 'phase.dot', 'aria-describedby': 'phase-hover' });
  dot.hidden = true;
  const legend = el('canvas', { id: 'phase-legend', class: 'heat-legend phase-legend', role: 'img', 'data-i18n-aria-label': 'phase.legend.aria' });
  const swatch = (cls, key) => el('span', { class: 'phase-key-item' }, [el('span', { class: `phase-swatch ${cls}` }), el('span', { 'data-i18n': key })]);
  const edgeKey = swatch('edge', 'phase.key.edge');
  const key = el('p', { class: 'phase-key' }, [
    swatch('zero', 'phase.key.zero'), swatch('nonfinite', 'phase.key.nonFinite'), edgeKey, swatch('dot', 'phase.key.dot'),
  ]);
  const hover = el('p', { class: 'notes', id: 'phase-hover' });
  const notes = el('p', { class: 'notes', id: 'phase-notes' });
  panel.append(
    el('div', { class: 'plot-head' }, [el('h2', { 'data-i18n': 'phase.title' }), status]),
    el('div', { class: 'toolbar' }, [
      el('span', { class: 'group' }, [el('label', { for: 'phase-x', 'data-i18n': 'phase.x' }), selX]),
      el('span', { class: 'group' }, [el('label', { for: 'phase-y', 'data-i18n': 'phase.y' }), selY]),
      el('span', { class: 'group' }, exports),
    ]),
    banner,
    el('div', { class: 'phase-wrap' }, [canvas, dot]),
    el('p', { class: 'phase-legend-title', 'data-i18n': 'phase.legend' }),
    legend,
    key,
    hover,
    notes,
    el('details', { class: 'explain', open: '' }, [
      el('summary', { 'data-i18n': 'explain.title' }),
      el('p', { 'data-i18n': 'phase.explain.1' }),
      el('p', { 'data-i18n': 'phase.explain.2' }),
      el('p', { 'data-i18n': 'phase.explain.3' }),
    ]),
  );

  // ---- state ----
  const analysis = new Analysis(page.conn, {
    onBusy: (on) => {
      status.textContent = on ? t('computing') : '';
    },
  });
  let want = null; // the request of the diagram shown or coming: {key, msg}
  let othersAtRequest = null; // the other analysis views' last request when it was sent
  let grid = null; // the diagram: {config, x, y, xs, ys, rows, edge, gamma, done, elapsedMs}
  let geom = null; // where the grid is on the canvas
  let frame = 0;
  let reduced = false;
  // shrink counts the times the server found the grid too much work,
  // for the diagram of key.
  let shrink = { key: '', steps: 0 };

  const axes = () => {
    const x = AXES.includes(view.phaseX) ? view.phaseX : 'gain';
    let y = AXES.includes(view.phaseY) ? view.phaseY : 'T';
    if (y === x) y = x === 'T' ? 'gain' : 'T';
    return [x, y];
  };

  function fillSelects() {
    for (const sel of [selX, selY]) {
      sel.replaceChildren(...AXES.map((a) => {
        const o = el('option', { value: a, 'data-i18n': `phase.axis.${a}` });
        o.textContent = t(o.dataset.i18n);
        o.disabled = !appliesTo(a, settings.cell);
        return o;
      }));
    }
    const [x, y] = axes();
    selX.value = x;
    selY.value = y;
  }

  // range is an axis' lo..hi: its usual range, widened to the current
  // value and cut to the server's limits.
  function range(name) {
    let [lo, hi] = RANGES[name];
    const cur = settings[name];
    if (name === 'gain') hi = Math.max(hi, Math.ceil(cur));
    if (name === 'forgetBias') [lo, hi] = [Math.min(lo, Math.floor(cur)), Math.max(hi, Math.ceil(cur))];
    if (name === 'T' || name === 'H') {
      const top = page.limits[name];
      const step = name === 'T' ? 100 : 16;
      hi = Math.min(top, Math.max(hi, Math.ceil(cur / step) * step));
      lo = Math.min(lo, cur);
    }
    return [lo, hi];
  }

  function axisValues(name, n, [lo, hi]) {
    return Array.from({ length: n }, (_, i) => {
      const f = i / (n - 1);
      const v = lo * (1 - f) + hi * f;
      return name === 'T' || name === 'H' ? Math.round(v) : v;
    });
  }

  // message builds the request for the current settings: the grid as
  // large as the server's work limit allows.
  function message() {
    const [x, y] = axes();
    const rx = range(x);
    const ry = range(y);
    const cap = (name, [lo, hi]) => (name === 'T' || name === 'H' ? Math.min(POINTS, hi - lo + 1) : POINTS);
    let nx = cap(x, rx);
    let ny = cap(y, ry);
    const budget = WORK_BUDGET * (page.limits.work || Infinity);
    const work = (nx, ny) => {
      const xs = axisValues(x, nx, rx);
      const ys = axisValues(y, ny, ry);
      let w = 0;
      for (const yv of ys) {
        for (const xv of xs) {
          const s = { ...settings, [x]: xv, [y]: yv };
          w += s.T * s.H * s.H * GATES[s.cell] * (s.bidir ? 2 : 1);
        }
      }
      return w;
    };
    const smaller = () => {
      nx = Math.max(Math.min(nx, MIN_POINTS), Math.round(nx * 0.8));
      ny = Math.max(Math.min(ny, MIN_POINTS), Math.round(ny * 0.8));
      reduced = true;
    };
    reduced = false;
    while (GATES[settings.cell] && work(nx, ny) > budget && Math.max(nx, ny) > MIN_POINTS) smaller();
    const msg = { ...page.modelMessage('phase'), x, y, xmin: rx[0], xmax: rx[1], ymin: ry[0], ymax: ry[1] };
    // The axes' own settings are where the dot is, not part of the
    // diagram: dragging the dot asks for nothing new.
    const keyed = { ...msg };
    delete keyed[x];
    delete keyed[y];
    const key = JSON.stringify(keyed);
    if (shrink.key !== key) shrink = { key, steps: 0 };
    for (let i = 0; i < shrink.steps; i++) smaller();
    Object.assign(msg, { nx, ny });
    return { key: JSON.stringify({ ...keyed, nx, ny }), msg };
  }

  function request() {
    const next = message();
    if (want && want.key === next.key) {
      draw();
      return;
    }
    want = next;
    grid = null;
    banner.hidden = true;
    othersAtRequest = page.analysis.last;
    analysis.request(next.msg);
    draw();
  }

  // ---- answers ----

  function receive(msg) {
    if (!analysis.owns(msg.id)) return;
    switch (msg.type) {
      case 'phaseStart':
        grid = {
          config: msg.config, x: msg.x.name, y: msg.y.name,
          xs: msg.x.values.map(value), ys: msg.y.values.map(value),
          rows: new Array(msg.y.values.length).fill(null),
          edge: msg.edge ? { along: msg.edge.along, gains: msg.edge.gains.map(value) } : null,
          gamma: msg.gamma == null ? null : value(msg.gamma), done: false, count: 0,
        };
        grid.xe = edges(grid.xs);
        grid.ye = edges(grid.ys);
        break;
      case 'phaseRow':
        if (!grid) return;
        grid.rows[msg.row] = msg.values.map(value);
        grid.count++;
        break;
      case 'phaseDone':
        analysis.handle();
        if (!grid) return;
        grid.done = true;
        grid.elapsedMs = msg.elapsedMs;
        banner.hidden = true;
        page.clearServerErrors();
        break;
      case 'error':
        analysis.handle();
        showError(msg);
        return;
      default:
        return;
    }
    schedule();
  }

  // showError says, in the page's language, why the diagram did not come.
  function showError(msg) {
    const f = msg.field || '';
    if ((f === 'nx' || f === 'ny') && want && Math.max(want.msg.nx, want.msg.ny) > MIN_POINTS) {
      // Too much work: ask again with fewer points.
      shrink.steps++;
      want = null;
      request();
      return;
    }
    if (f === 'nx' || f === 'ny') {
      banner.textContent = t('phase.error.work');
    } else if (/^[xy](min|max)?$/.test(f)) {
      const [x, y] = axes();
      banner.textContent = t('phase.error.axis', { axis: t(`phase.axis.${f[0] === 'x' ? x : y}`) });
    } else {
      page.showServerError(msg, banner);
      return;
    }
    banner.hidden = false;
    document.body.dataset.error = f;
  }

  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      draw();
    });
  }

  // ---- drawing ----

  function draw() {
    if (view.tab !== 'phase' || !canvas.clientWidth) return;
    const { ctx, w, h } = fitCanvas(canvas);
    ctx.clearRect(0, 0, w, h);
    const large = view.large;
    const font = large ? 16 : 12;
    const left = font * 5;
    const bottom = font * 3.2;
    const top = 10;
    const right = 14;
    const pw = Math.max(10, w - left - right);
    const ph = Math.max(10, h - top - bottom);
    if (!grid) {
      geom = null;
      dot.hidden = true;
      ctx.fillStyle = PENDING;
      ctx.fillRect(left, top, pw, ph);
      drawLegend(-1, 1);
      for (const k of ['done', 'rows', 'nx', 'ny', 'range']) delete canvas.dataset[k];
      return;
    }
    const g = grid;
    const X = (v) => left + ((v - g.xe[0]) / (g.xe[g.xe.length - 1] - g.xe[0])) * pw;
    const Y = (v) => top + ph - ((v - g.ye[0]) / (g.ye[g.ye.length - 1] - g.ye[0])) * ph;
    geom = { left, top, pw, ph, X, Y };
    const [lo, hi] = scaleOf(g.rows);
    for (let r = 0; r < g.ys.length; r++) {
      const row = g.rows[r];
      const y0 = Math.round(Y(g.ye[r + 1]));
      const y1 = Math.round(Y(g.ye[r]));
      for (let c = 0; c < g.xs.length; c++) {
        const x0 = Math.round(X(g.xe[c]));
        const x1 = Math.round(X(g.xe[c + 1]));
        ctx.fillStyle = row ? `rgb(${colorOf(row[c], lo, hi).join(',')})` : PENDING;
        ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
      }
    }
    ctx.strokeStyle = '#888';
    ctx.lineWidth = 1;
    ctx.strokeRect(left - 0.5, top - 0.5, pw + 1, ph + 1);

    // The edge of chaos, dashed, outlined in white.
    if (g.edge) {
      const pts = g.edge.gains.map((gain, i) => (g.edge.along === g.y ? [gain, g.ys[i]] : [g.xs[i], gain]))
        .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
      ctx.save();
      ctx.beginPath();
      ctx.rect(left, top, pw, ph);
      ctx.clip();
      ctx.lineJoin = 'round';
      for (const [color, width, dash] of [['#fff', 5, []], ['#000', 2.2, [7, 4]]]) {
        ctx.strokeStyle = color;
        ctx.lineWidth = width;
        ctx.setLineDash(dash);
        ctx.beginPath();
        pts.forEach(([a, b], i) => (i ? ctx.lineTo(X(a), Y(b)) : ctx.moveTo(X(a), Y(b))));
        if (pts.length === 1) ctx.lineTo(X(pts[0][0]) + 0.01, Y(pts[0][1]));
        ctx.stroke();
      }
      ctx.restore();
    }
    edgeKey.hidden = !g.edge;

    // Axes: ticks at round values, labels in the page's language.
    ctx.fillStyle = '#222';
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const v of niceTicks(g.xs[0], g.xs[g.xs.length - 1], Math.max(2, Math.floor(pw / (font * 5))))) {
      const x = X(v);
      ctx.fillRect(Math.round(x), top + ph, 1, 4);
      ctx.fillText(fmtNum(v), x, top + ph + 5);
    }
    ctx.font = `bold ${font}px system-ui, sans-serif`;
    ctx.fillText(t(`phase.axis.${g.x}`), left + pw / 2, top + ph + font + 9);
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of niceTicks(g.ys[0], g.ys[g.ys.length - 1], Math.max(2, Math.floor(ph / (font * 2.5))))) {
      const y = Y(v);
      ctx.fillRect(left - 4, Math.round(y), 4, 1);
      ctx.fillText(fmtNum(v), left - 6, y);
    }
    ctx.save();
    ctx.translate(font * 0.9, top + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.font = `bold ${font}px system-ui, sans-serif`;
    ctx.fillText(t(`phase.axis.${g.y}`), 0, 0);
    ctx.restore();

    drawLegend(lo, hi);
    placeDot();
    showNotes();
    summarize(g);
    canvas.dataset.nx = String(g.xs.length);
    canvas.dataset.ny = String(g.ys.length);
    canvas.dataset.rows = String(g.count);
    canvas.dataset.range = JSON.stringify([lo, hi]);
    if (g.done) {
      canvas.dataset.done = '1';
      page.drawn('phase', g.config);
    } else {
      delete canvas.dataset.done;
    }
  }

  // drawLegend draws the bar from lo to hi decades, white at 0.
  function drawLegend(lo, hi) {
    const { ctx, w } = fitCanvas(legend);
    ctx.clearRect(0, 0, legend.width, legend.height);
    const font = view.large ? 16 : 12;
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.fillStyle = '#222';
    ctx.textBaseline = 'top';
    const x0 = 4;
    const y0 = 3;
    const barW = Math.max(80, Math.min(560, w - x0 - 20));
    const barH = Math.max(8, Math.round(font * 0.9));
    for (let i = 0; i < barW; i++) {
      const v = lo + ((hi - lo) * (i + 0.5)) / barW;
      ctx.fillStyle = `rgb(${colorOf(v, lo, hi).join(',')})`;
      ctx.fillRect(x0 + i, y0, 1.5, barH);
    }
    ctx.strokeStyle = '#666';
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, barW - 1, barH - 1);
    const span = hi - lo;
    const room = Math.max(2, Math.floor(barW / (font * 4.4)));
    const stride = [1, 2, 5, 10, 20, 25, 50, 100].find((s) => span / s <= room) ?? 100;
    const ticks = [];
    for (let e = Math.ceil(lo / stride) * stride; e <= hi; e += stride) ticks.push(e);
    const gap = stride * 0.6;
    if (lo === -CAP && ticks[0] !== lo && ticks[0] - lo >= gap) ticks.unshift(lo);
    if (hi === CAP && ticks[ticks.length - 1] !== hi && hi - ticks[ticks.length - 1] >= gap) ticks.push(hi);
    ctx.fillStyle = '#222';
    ctx.textAlign = 'center';
    for (const e of ticks) {
      const px = x0 + ((e - lo) / span) * barW;
      ctx.fillRect(Math.round(px), y0 + barH, 1, 3);
      let label = e > 0 ? `+${e}` : e < 0 ? `−${-e}` : '0';
      if (e === -CAP) label = `≤${label}`;
      if (e === CAP) label = `≥${label}`;
      const half = ctx.measureText(label).width / 2;
      ctx.fillText(label, Math.min(Math.max(px, x0 + half), x0 + barW - half), y0 + 4 + barH);
    }
  }

  // placeDot puts the dot at the current settings, if they are on the
  // diagram's axes and within its range.
  function placeDot() {
    const g = grid;
    if (!g || !geom) {
      dot.hidden = true;
      return;
    }
    const xv = settings[g.x];
    const yv = settings[g.y];
    const inside = xv >= g.xe[0] && xv <= g.xe[g.xe.length - 1] && yv >= g.ye[0] && yv <= g.ye[g.ye.length - 1];
    dot.hidden = !inside;
    if (!inside) return;
    dot.style.left = `${geom.X(xv)}px`;
    dot.style.top = `${geom.Y(yv)}px`;
    const text = t('phase.dot.value', { x: describe(g.x, xv), y: describe(g.y, yv) });
    dot.setAttribute('aria-valuetext', text);
    dot.setAttribute('aria-valuenow', String(xv));
    dot.setAttribute('aria-valuemin', String(g.xs[0]));
    dot.setAttribute('aria-valuemax', String(g.xs[g.xs.length - 1]));
    dot.title = text;
  }

  const describe = (name, v) => `${t(`phase.axis.${name}`)} = ${fmtNum(v, 4)}`;

  function showNotes() {
    const g = grid;
    const parts = [];
    if (!g.done) parts.push(t('phase.rows', { r: g.count, n: g.ys.length }));
    else parts.push(t('phase.done', { n: g.xs.length, m: g.ys.length, s: fmtNum(g.elapsedMs / 1000) }));
    if (reduced) parts.push(t('phase.grid', { n: g.xs.length, m: g.ys.length }));
    if (!g.edge) parts.push(t('phase.noEdge'));
    notes.textContent = parts.join(' ');
  }

  // ---- the dot: pointer, touch and keys ----

  // summarize describes the diagram in words: its axes, the range of the
  // decades lost or gained, and how many points vanish or grow.
  function summarize(g) {
    let vmin = Infinity;
    let vmax = -Infinity;
    let neg = 0;
    let pos = 0;
    let n = 0;
    for (const row of g.rows) {
      for (const v of row ?? []) {
        if (typeof v !== 'number' || Number.isNaN(v)) continue;
        n++;
        if (v < 0) neg++;
        else if (v > 0) pos++;
        if (Number.isFinite(v)) {
          vmin = Math.min(vmin, v);
          vmax = Math.max(vmax, v);
        }
      }
    }
    describePlot(canvas, t('sum.phase', {
      x: t(`phase.axis.${g.x}`), y: t(`phase.axis.${g.y}`),
      lo: vmin === Infinity ? '—' : prose(vmin), hi: vmax === -Infinity ? '—' : prose(vmax), neg, pos, n,
    }));
  }

  // snapped reads the settings at canvas point (px, py), rounded to the
  // axes' steps and kept within the diagram.
  function snapped(px, py) {
    const g = grid;
    const { left, top, pw, ph } = geom;
    const at = (e, f) => e[0] + f * (e[e.length - 1] - e[0]);
    const fx = Math.min(1, Math.max(0, (px - left) / pw));
    const fy = Math.min(1, Math.max(0, 1 - (py - top) / ph));
    return { [g.x]: snap(g.x, at(g.xe, fx), g.xs), [g.y]: snap(g.y, at(g.ye, fy), g.ys) };
  }

  function snap(name, v, values) {
    const s = SNAP[name];
    const lo = values[0];
    const hi = values[values.length - 1];
    const r = Math.round(Math.min(hi, Math.max(lo, v)) / s) * s;
    return Number(r.toFixed(s < 1 ? 2 : 0));
  }

  function moveTo(values) {
    page.change(values);
    placeDot();
  }

  let dragging = null;
  const pointerAt = (e) => {
    const rect = canvas.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  };
  function startDrag(e) {
    if (!geom || e.button > 0) return;
    if (e.target === canvas) {
      // On the diagram itself (not its axes) a press moves the dot there.
      const [px, py] = pointerAt(e);
      const { left, top, pw, ph } = geom;
      if (px < left - 4 || px > left + pw + 4 || py < top - 4 || py > top + ph + 4) return;
    }
    e.preventDefault();
    dragging = e.pointerId;
    e.target.setPointerCapture(e.pointerId);
    dot.focus({ preventScroll: true });
    moveTo(snapped(...pointerAt(e)));
  }
  for (const target of [canvas, dot]) {
    target.addEventListener('pointerdown', startDrag);
    target.addEventListener('pointermove', (e) => {
      if (dragging === e.pointerId) {
        moveTo(snapped(...pointerAt(e)));
        return;
      }
      if (target === canvas) showHover(...pointerAt(e));
    });
    target.addEventListener('pointerup', (e) => {
      if (dragging === e.pointerId) dragging = null;
    });
    target.addEventListener('pointercancel', () => {
      dragging = null;
    });
  }
  canvas.addEventListener('pointerleave', () => showHover(null));
  dot.addEventListener('keydown', (e) => {
    if (!grid) return;
    const g = grid;
    const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowDown: [0, -1], ArrowUp: [0, 1] }[e.key];
    if (!steps) return;
    e.preventDefault();
    // One cell a press; with Shift, five.
    const k = e.shiftKey ? 5 : 1;
    const step = (vs) => (vs[vs.length - 1] - vs[0]) / (vs.length - 1);
    moveTo({
      [g.x]: snap(g.x, settings[g.x] + steps[0] * k * step(g.xs), g.xs),
      [g.y]: snap(g.y, settings[g.y] + steps[1] * k * step(g.ys), g.ys),
    });
  });

  function showHover(px, py) {
    const g = grid;
    if (px === null || !g || !geom || px < geom.left || py < geom.top || px > geom.left + geom.pw || py > geom.top + geom.ph) {
      hover.textContent = t('phase.hover.none');
      return;
    }
    const find = (e, v) => Math.max(0, Math.min(e.length - 2, e.findIndex((b, i) => i > 0 && v <= b) - 1));
    const at = (e, f) => e[0] + f * (e[e.length - 1] - e[0]);
    const c = find(g.xe, at(g.xe, (px - geom.left) / geom.pw));
    const r = find(g.ye, at(g.ye, 1 - (py - geom.top) / geom.ph));
    const v = g.rows[r]?.[c];
    const vars = { x: describe(g.x, g.xs[c]), y: describe(g.y, g.ys[r]) };
    if (v === undefined) hover.textContent = t('phase.hover.pending', vars);
    else if (Number.isNaN(v) || v === Infinity) hover.textContent = t('phase.hover.nonFinite', vars);
    else if (v === -Infinity) hover.textContent = t('phase.hover.zero', vars);
    else hover.textContent = t('phase.hover', { ...vars, v: fmtNum(v), r: fmtNum(10 ** v) });
  }

  // ---- controls ----

  const changeAxis = (which, sel) => {
    const [x, y] = axes();
    let nx = which === 'x' ? sel.value : x;
    let ny = which === 'y' ? sel.value : y;
    if (nx === ny) [nx, ny] = which === 'x' ? [nx, x] : [y, ny];
    view.phaseX = nx;
    view.phaseY = ny;
    selX.value = nx;
    selY.value = ny;
    page.markPresetChanged();
    page.updateURL();
    request();
  };
  selX.addEventListener('change', () => changeAxis('x', selX));
  selY.addEventListener('change', () => changeAxis('y', selY));
  const fileName = (format) => `gradviz-phase-${settings.cell}-${axes().join('-')}.${format}`;
  for (const b of exports) {
    b.addEventListener('click', () => {
      const format = b.dataset.format;
      page.download(it.export(format), fileName(format), { status, banner });
    });
  }
  new ResizeObserver(() => draw()).observe(canvas);
  fillSelects();
  hover.textContent = t('phase.hover.none');

  const it = {
    name: 'phase',
    panel,
    messages: ['phaseStart', 'phaseRow', 'phaseDone'],
    owns: (id) => analysis.owns(id),
    receive,
    request,
    redraw: draw,
    // Shown again with a diagram left unfinished because another
    // analysis tab's request took the server's analysis worker (which
    // cancelled it), it asks anew.
    show(visible) {
      if (visible && want && !(grid && grid.done) && page.analysis.last !== othersAtRequest) {
        want = null;
        request();
      }
    },
    relabel() {
      fillSelects();
      hover.textContent = t('phase.hover.none');
      draw();
    },
    // The same diagram, drawn by the server: the request's grid, the
    // settings (the dot's), the language.
    export(format) {
      const msg = (want || message()).msg;
      const p = settingsQuery(settings, page.defaults, Object.keys(SETTINGS));
      if (!appliesTo('act', settings.cell)) p.delete('act');
      for (const k of ['x', 'y', 'nx', 'ny', 'xmin', 'xmax', 'ymin', 'ymax']) p.set(k, String(msg[k]));
      p.set('lang', view.lang);
      if (format !== 'csv') {
        p.set('w', '1600');
        p.set('h', '900');
      }
      return `/api/phase.${format}?${p}`;
    },
    // The export buttons carry their links, as the other views' do.
    urlWritten() {
      for (const b of exports) b.dataset.href = it.export(b.dataset.format);
    },
    settingChanged(name) {
      if (name !== 'cell') return;
      fillSelects();
      // An axis must be a setting of the model: only the LSTM and the GRU
      // have a gate whose bias (forgetBias) can be one.
      if (axes().some((a) => !appliesTo(a, settings.cell))) {
        view.phaseX = 'gain';
        view.phaseY = 'T';
        fillSelects();
      }
    },
    connected: () => analysis.resend(),
    unowned(msg) {
      if (!msg.id && isRateLimited(msg)) setTimeout(() => analysis.resend(), 1000);
    },
  };
  return it;
}
