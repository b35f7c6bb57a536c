// The plots: ‖∂E/∂s_k‖ on a log axis (uPlot, loaded as the global uPlot),
// and an optional small chart of the per-step factor ‖J_k‖.
//
// The y values are drawn as log10(v) on a linear uPlot scale, labelled
// with powers of ten. uPlot's own log scale (distr: 3) finds no tick
// spacing once the range reaches past 1e17, and an exploding run spans
// 1e-300..1e300; the picture is the same, and the labels always appear.

import { t, lang } from './i18n.js';
import { fmtNum, fmtTick, fmtExact, pow10Label, tickValues, STEP_INCRS } from './numbers.js';

// Every line's name, colour, dash and width comes from the series table
// (render.Table on the server), which the page receives in its bootstrap
// data: the PNG and SVG exports draw from the same table, so a series
// looks the same on screen and on a slide. Widths and dashes are CSS
// pixels. Only the plot's ink (axes, the marker's label box) is here.
const INK = '#222';
const LABEL_BOX = 'rgba(255,255,255,0.9)';

// holds reports whether a run with config cfg is one of those `when`
// describes: each named setting has one of the listed values.
export function holds(when, cfg) {
  return Object.entries(when ?? {}).every(([name, values]) => values.includes(cfg[name]));
}

// seriesText returns a series' legend text for a run: its label, and what
// follows a run's name (a pin's "clipped"), in the page's language.
export function seriesText(s, cfg) {
  const v = (s.variants ?? []).find((x) => holds(x.when, cfg)) ?? s;
  const pick = (text) => (text ? text[lang()] || text.en || '' : '');
  const fill = (str) => str.replaceAll('{threshold}', fmtExact(cfg.threshold));
  return { label: fill(pick(v.label)), of: fill(pick(v.of)) };
}

// stroke is the colour of series s for a run whose colour is base: a
// series of every run is drawn in it at opacity 1 − tint (the unclipped
// profile, light on white, lets the clipped one under it show), any other
// series in its own colour.
export function stroke(s, base) {
  if (!s.run) return s.color;
  if (!s.tint) return base;
  const n = parseInt(base.slice(1), 16);
  return 'rgba(' + [n >> 16, (n >> 8) & 255, n & 255, Math.round((1 - s.tint) * 255) / 255].join(', ') + ')';
}

// MARKERS draws a dashed series' legend swatch dashed, as the PNG's
// legend shows it.
const MARKERS = { dash: (u, i) => (u.series[i].dash ? 'dashed' : 'solid') };

// level is the height of a series that is a horizontal line, or null.
function level(name, res) {
  const th = res.theory;
  switch (name) {
    case 'threshold': return res.config.threshold;
    case 'one': return 1;
    case 'gammaSigmaMax':
      return th && typeof th.gamma === 'number' && typeof th.sigmaMax === 'number' ? th.gamma * th.sigmaMax : null;
    default: return null;
  }
}

// isolated picks the values with no drawn neighbour, which a line alone
// would not show: they are drawn as dots, as in the PNG.
function isolated(u, si) {
  const d = u.data[si];
  const out = [];
  for (let i = 0; i < d.length; i++) {
    if (d[i] != null && d[i - 1] == null && d[i + 1] == null) out.push(i);
  }
  return out.length ? out : null;
}

// line is the uPlot style of series s in a colour and width.
function line(s, stroke, width) {
  return {
    stroke, width,
    dash: s.dash ? s.dash.map((d) => d * devicePixelRatio) : undefined,
    points: { show: false, size: 3 * width, width: 0, stroke, fill: stroke, filter: isolated },
  };
}

const MIN_EXP = -323; // 10^-324 is 0 in float64
const MAX_EXP = 308;

// The page's numbers are written in its language (numbers.js); the
// views import them from here as before.
export { fmtNum, pow10Label, tickValues };

// log10 maps a value to its height on the log axis. What a log axis
// cannot show (0, negative, NaN, ±Inf and their JSON strings) becomes
// null, which uPlot draws as a gap.
export function log10(v) {
  return typeof v === 'number' && v > 0 && v < Infinity ? Math.log10(v) : null;
}

// place puts series v (k = 1..T) on an x axis of n points: by step k, or
// by steps back T−k, which lines up runs of different T at the loss.
// Steps before reveal are hidden (the animation).
export function place(v, n, back, reveal = 1) {
  const out = new Array(n).fill(null);
  if (!v) return out;
  const T = v.length;
  for (let k = reveal; k <= T; k++) {
    out[back ? T - k : k - 1] = log10(v[k - 1]);
  }
  return out;
}

function constant(value, n) {
  return new Array(n).fill(log10(value));
}

function extent(arrays) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of arrays) {
    for (const v of a) {
      if (v === null) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

// dataRange is the y range, in decades, that holds the measured series.
// On the profile (widen false) the measurements alone set it: guides
// (Pascanu's bound) are clipped at the plot's edge, since a bound of 1e15
// over a curve that vanishes would make the bound the picture and squash
// the curve. The lab's charts let a guide (a baseline, the threshold)
// widen it by at most as many decades as the data span (6 at least).
// When nothing is measured the guides set it.
export function dataRange(measured, guides = [], widen = true) {
  let [lo, hi] = extent(measured);
  const [glo, ghi] = extent(guides);
  if (lo === Infinity) {
    [lo, hi] = [glo, ghi];
  } else if (widen && glo !== Infinity) {
    const reach = Math.max(6, hi - lo);
    lo = Math.min(lo, Math.max(glo, lo - reach));
    hi = Math.max(hi, Math.min(ghi, hi + reach));
  }
  if (lo === Infinity) return [-1, 1];
  let elo = Math.max(MIN_EXP, Math.floor(lo));
  let ehi = Math.min(MAX_EXP + 1, Math.ceil(hi));
  if (ehi - elo < 2) {
    elo -= 1;
    ehi += 1;
  }
  return [elo, ehi];
}

const STRIDES = [1, 2, 3, 5, 10, 20, 25, 50, 100, 200];

// decadeSplits puts ticks on whole powers of ten, every stride decades so
// that the labels do not crowd: a run can span 600 decades.
export function decadeSplits(u, axisIdx, min, max) {
  const room = Math.max(2, Math.floor(u.bbox.height / devicePixelRatio / 24));
  const stride = STRIDES.find((st) => (max - min) / st <= room) ?? 500;
  const out = [];
  for (let e = Math.ceil(min / stride) * stride; e <= max + 1e-9; e += stride) out.push(e);
  return out;
}

export function decadeValues(u, splits) {
  return splits.map((e) => pow10Label(Math.round(e)));
}

// legendValue shows the value under the cursor, back from its logarithm.
export const legendValue = (u, v) => (v == null ? '—' : fmtNum(10 ** v));

// fitAxis sizes a y axis to its widest tick label, as uPlot's demos do.
export function fitAxis(self, values, axisIdx, cycleNum) {
  const axis = self.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values ?? []).reduce((acc, v) => (v.length > acc.length ? v : acc), '');
  if (longest) {
    self.ctx.font = axis.font[0];
    size += self.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size) + 4;
}

// Plot draws the gradient profile and its companions.
export class Plot {
  // table is the series table from the bootstrap data.
  // live is the region that reads out the keyboard cursor's values.
  constructor({ el, legend, jacEl, jacLegend, table, onDraw, live }) {
    this.el = el;
    this.live = live;
    this.cursor = null; // the keyboard cursor's index on the x axis
    el.addEventListener('keydown', (e) => this.onKey(e));
    this.table = table;
    this.legend = legend;
    this.jacEl = jacEl;
    this.jacLegend = jacLegend;
    this.onDraw = onDraw;
    this.u = null;
    this.jac = null;
    this.key = '';
    this.jacKey = '';
    this.marker = null;
    this.yRange = [0.1, 10];
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(el);
    this.observer.observe(jacEl);
  }

  resize() {
    if (this.u) {
      const { width, height } = this.size(this.el);
      if (width !== this.u.width || height !== this.u.height) this.u.setSize({ width, height });
    }
    if (this.jac) {
      const { width, height } = this.size(this.jacEl);
      if (width !== this.jac.width || height !== this.jac.height) this.jac.setSize({ width, height });
    }
  }

  size(el) {
    return { width: Math.max(200, Math.floor(el.clientWidth)), height: Math.max(80, Math.floor(el.clientHeight)) };
  }

  // render draws state: {res (profile message), pins [{label, res}],
  // view {x, states, jac, large}, reveal (first step shown)}.
  render(state) {
    const { res, pins, view } = state;
    const back = view.x === 'back';
    const cfg = res.config;
    const T = cfg.T;
    const n = Math.max(T, ...pins.filter((p) => p.res).map((p) => p.res.config.T));
    const reveal = state.reveal ?? 1;
    const prof = res.profile;
    const overflow = res.overflow;

    const x = new Array(n);
    for (let i = 0; i < n; i++) x[i] = back ? i : i + 1;

    const series = [];
    const data = [x];
    // The y range comes from the unmasked data, so that it holds still
    // while an animation reveals the steps.
    const measured = [];
    const guides = [];
    const add = (spec, values, fullValues = values) => {
      series.push(spec);
      data.push(values);
      (spec.guide ? guides : measured).push(fullValues);
    };
    const grad = (v) => [place(v, n, back, reveal), place(v, n, back)];

    // The current run's lines, then each pin's lines of every run (its
    // profile), in the pin palette's order.
    const { series: table, pins: palette } = this.table;
    const showStates = view.states || !!(overflow && overflow.forward);
    for (const s of table) {
      if (s.axis !== 'main' || !holds(s.when, cfg) || (s.show === 'overflow' && !showStates)) continue;
      const spec = { label: seriesText(s, cfg).label, key: s.id, guide: s.guide, ...line(s, stroke(s, this.table.run), s.width) };
      if (s.level) {
        const y = level(s.level, res);
        if (y != null) add(spec, constant(y, n));
      } else if (prof[s.id]) {
        const v = prof[s.id];
        add(spec, ...(s.backward ? grad(v) : [place(v, n, back)]));
      }
    }
    pins.forEach((p, i) => {
      if (!p.res) return;
      const color = palette[i % palette.length];
      const name = t('s.pin', { label: p.label });
      for (const s of table) {
        const v = p.res.profile[s.id];
        if (!s.run || !s.pinWidth || !v || !holds(s.when, p.res.config)) continue;
        const { of } = seriesText(s, p.res.config);
        add({ label: of ? `${name} ${of}` : name, key: `pin${i}:${s.id}`, ...line(s, stroke(s, color), s.pinWidth) }, place(v, n, back));
      }
    });

    this.yRange = dataRange(measured, guides, false);
    // A prediction (a tour step's): while hidden no curve is drawn, on a
    // fixed range; the guess stays drawn, at step 1, once revealed.
    const pr = state.predict;
    this.guess = pr && pr.guess != null ? { x: back ? T - 1 : 1, y: pr.guess } : null;
    if (pr?.hidden) {
      for (let i = 1; i < data.length; i++) data[i] = new Array(n).fill(null);
      this.yRange = pr.range;
    } else if (this.guess) {
      this.yRange = [Math.min(this.yRange[0], Math.floor(pr.guess) - 1), Math.max(this.yRange[1], Math.ceil(pr.guess) + 1)];
    }
    // For tests and the text summary: the decades the plot shows.
    this.el.dataset.yRange = JSON.stringify(this.yRange);
    this.el.dataset.curve = pr?.hidden ? 'hidden' : 'shown';
    this.marker = null;
    if (overflow && (overflow.forward || overflow.backward)) {
      const k = overflow.forward || overflow.backward;
      this.marker = { x: back ? T - k : k, label: t('overflow.marker', { k }) };
    }

    this.T = T;
    // A new label alone (a threshold's) is written into the legend; any
    // other change of the series makes a new plot.
    const key = JSON.stringify([series.map(({ label, ...rest }) => rest), view.x, view.large, lang()]);
    this.back = back;
    if (key !== this.key || !this.u) {
      this.key = key;
      this.create(series, data, view);
    } else {
      // A longer label may take another legend row: measure again.
      if (this.relabel(series.map((s) => s.label))) this.resize();
      this.u.setData(data);
    }
    this.renderJac(state, x, n, back);
    if (this.cursor !== null) this.showCursor(false);
  }

  create(series, data, view) {
    if (this.u) this.u.destroy();
    this.legend.replaceChildren();
    const font = view.large ? '17px system-ui, sans-serif' : '12px system-ui, sans-serif';
    const labelFont = view.large ? 'bold 18px system-ui, sans-serif' : 'bold 13px system-ui, sans-serif';
    const back = view.x === 'back';
    const { width, height } = this.size(this.el);
    const fmtX = (u, v) => {
      if (v == null) return '—';
      return back ? `${fmtTick(v)} (k = ${fmtTick(this.T - v)})` : fmtTick(v);
    };
    this.fmtX = fmtX;
    const opts = {
      width,
      height,
      pxAlign: 0,
      scales: {
        x: { time: false },
        y: { range: () => this.yRange },
      },
      axes: [
        { label: t(back ? 'axis.x.back' : 'axis.x.step'), font, labelFont, size: view.large ? 48 : 36, labelSize: view.large ? 28 : 22, stroke: INK, incrs: STEP_INCRS, values: tickValues },
        {
          label: t('axis.y'), font, labelFont, stroke: INK,
          size: fitAxis, labelSize: view.large ? 28 : 22, labelGap: 2,
          splits: decadeSplits, values: decadeValues,
        },
      ],
      series: [
        { label: t(back ? 'x.back' : 'x.step'), value: fmtX },
        ...series.map((s) => ({
          label: s.label, stroke: s.stroke, width: s.width, dash: s.dash, spanGaps: false,
          points: s.points, value: legendValue,
        })),
      ],
      cursor: { sync: { key: 'gradviz' }, drag: { x: false, y: false } },
      legend: { live: true, markers: MARKERS, mount: (self, el) => this.legend.append(el) },
      hooks: { draw: [(u) => this.drawMarker(u, view)] },
    };
    this.u = new uPlot(opts, data, this.el);
    // The new legend may take more or fewer rows than the old one, and the
    // plot gets what is left: measure again now that it is mounted. (A
    // ResizeObserver would not fire when the final size equals the last.)
    this.resize();
  }

  // relabel sets the labels of the plot's series (after x) in place and
  // reports whether any changed.
  relabel(labels) {
    const rows = this.legend.querySelectorAll('.u-series');
    let changed = false;
    labels.forEach((label, i) => {
      const s = this.u.series[i + 1];
      if (s.label === label) return;
      changed = true;
      s.label = label;
      const el = rows[i + 1]?.querySelector('.u-label');
      if (el) el.textContent = label;
    });
    return changed;
  }

  // onKey moves the keyboard cursor: ← and → a step, Home and End to the
  // ends. The first key puts it at k = T, where the backward pass starts.
  onKey(e) {
    const u = this.u;
    if (!u || e.altKey || e.ctrlKey || e.metaKey) return;
    const n = u.data[0].length;
    const start = this.back ? 0 : n - 1;
    let i = this.cursor;
    switch (e.key) {
      case 'ArrowLeft': i = i === null ? start : i - 1; break;
      case 'ArrowRight': i = i === null ? start : i + 1; break;
      case 'Home': i = 0; break;
      case 'End': i = n - 1; break;
      default: return;
    }
    e.preventDefault();
    this.cursor = Math.max(0, Math.min(n - 1, i));
    this.showCursor(true);
  }

  // showCursor puts uPlot's cursor (and so the legend's values) on the
  // keyboard cursor's step and, when asked, reads the values out.
  showCursor(announce) {
    const u = this.u;
    if (!u || this.cursor === null) return;
    const n = u.data[0].length;
    const i = Math.min(this.cursor, n - 1);
    this.cursor = i;
    const v = u.data[1] ? u.data[1][i] : null;
    const top = v == null ? u.bbox.height / devicePixelRatio / 2 : u.valToPos(v, 'y');
    u.setCursor({ left: u.valToPos(u.data[0][i], 'x'), top });
    this.el.dataset.cursor = String(u.data[0][i]);
    if (announce && this.live) this.live.textContent = this.cursorText(i);
  }

  // cursorText is what the cursor shows, in words: "Step k 40: ‖∂E/∂s_k‖ 3.2e-10, …".
  cursorText(i) {
    const u = this.u;
    const values = u.series.slice(1).map((s, j) => `${s.label} ${legendValue(u, u.data[j + 1][i])}`).join(', ');
    return t('sum.cursor', { x: `${u.series[0].label} ${this.fmtX(u, u.data[0][i])}`, values });
  }

  drawMarker(u, view) {
    const m = this.marker;
    if (m) {
      const ctx = u.ctx;
      const px = Math.round(u.valToPos(m.x, 'x', true));
      const { top, height, left, width } = u.bbox;
      ctx.save();
      ctx.strokeStyle = this.table.overflow;
      ctx.lineWidth = 2.5 * devicePixelRatio;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, top + height);
      ctx.stroke();
      const size = (view.large ? 17 : 13) * devicePixelRatio;
      ctx.font = `bold ${size}px system-ui, sans-serif`;
      const w = ctx.measureText(m.label).width;
      const pad = 4 * devicePixelRatio;
      let tx = px + 6 * devicePixelRatio;
      if (tx + w + 2 * pad > left + width) tx = px - 6 * devicePixelRatio - w - 2 * pad;
      const ty = top + 24 * devicePixelRatio;
      ctx.fillStyle = LABEL_BOX;
      ctx.fillRect(tx, ty, w + 2 * pad, size + 2 * pad);
      ctx.fillStyle = this.table.overflow;
      ctx.textAlign = 'left'; // uPlot leaves the axes' alignment behind
      ctx.textBaseline = 'top';
      ctx.fillText(m.label, tx + pad, ty + pad);
      ctx.restore();
    }
    this.drawGuess(u, view);
    if (this.onDraw) this.onDraw();
  }

  // drawGuess draws a prediction's marker: a dot at step 1 and a dashed
  // line across at its height, in the plot's ink, labelled.
  drawGuess(u, view) {
    const g = this.guess;
    if (!g) {
      delete this.el.dataset.guess;
      return;
    }
    const ctx = u.ctx;
    const dpr = devicePixelRatio;
    const px = u.valToPos(g.x, 'x', true);
    const py = u.valToPos(g.y, 'y', true);
    const { left, width } = u.bbox;
    ctx.save();
    ctx.strokeStyle = INK;
    ctx.lineWidth = 1.5 * dpr;
    ctx.setLineDash([2 * dpr, 4 * dpr]);
    ctx.beginPath();
    ctx.moveTo(left, py);
    ctx.lineTo(left + width, py);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = INK;
    ctx.beginPath();
    ctx.arc(px, py, 7 * dpr, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = LABEL_BOX;
    ctx.beginPath();
    ctx.arc(px, py, 3 * dpr, 0, 2 * Math.PI);
    ctx.fill();
    const size = (view.large ? 17 : 13) * dpr;
    ctx.font = `bold ${size}px system-ui, sans-serif`;
    const label = t('predict.marker');
    const w = ctx.measureText(label).width;
    const pad = 3 * dpr;
    const tx = px + 12 * dpr;
    const ty = py - size - 2 * pad - 6 * dpr;
    ctx.fillStyle = LABEL_BOX;
    ctx.fillRect(tx, ty, w + 2 * pad, size + 2 * pad);
    ctx.fillStyle = INK;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText(label, tx + pad, ty + pad);
    ctx.restore();
    this.el.dataset.guess = String(g.y);
  }

  // yAt is the log10 value at a pointer's clientY on the plot, or null.
  yAt(clientY) {
    if (!this.u) return null;
    const r = this.u.over.getBoundingClientRect();
    return this.u.posToVal(clientY - r.top, 'y');
  }

  // renderJac draws the series of the per-step factor chart.
  renderJac(state, x, n, back) {
    const { res, view } = state;
    const prof = res.profile;
    const cfg = res.config;
    const table = this.table.series.filter((s) => s.axis === 'factor' && holds(s.when, cfg) && (s.level || prof[s.id]));
    const show = view.jac && table.some((s) => !s.level);
    this.jacEl.hidden = !show;
    this.jacLegend.hidden = !show;
    if (!show) {
      if (this.jac) {
        this.jac.destroy();
        this.jac = null;
        this.jacLegend.replaceChildren();
        this.jacKey = '';
      }
      return;
    }
    // For tests: whose factors the chart shows.
    this.jacEl.dataset.drawn = JSON.stringify({ gain: cfg.gain, steps: prof.jacobianNorm.length });
    const data = [x];
    const measured = [];
    const guides = [];
    for (const s of table) {
      const v = s.level ? constant(level(s.level, res), n) : place(prof[s.id], n, back);
      data.push(v);
      (s.guide ? guides : measured).push(v);
    }
    const range = dataRange(measured, guides, false);
    const labels = table.map((s) => seriesText(s, cfg).label);
    const key = JSON.stringify([view.x, view.large, labels]);
    if (key === this.jacKey && this.jac) {
      this.jacRange = range;
      this.jac.setData(data);
      return;
    }
    this.jacKey = key;
    this.jacRange = range;
    if (this.jac) this.jac.destroy();
    this.jacLegend.replaceChildren();
    const font = view.large ? '15px system-ui, sans-serif' : '11px system-ui, sans-serif';
    const { width, height } = this.size(this.jacEl);
    this.jac = new uPlot({
      width, height, pxAlign: 0,
      scales: { x: { time: false }, y: { range: () => this.jacRange } },
      axes: [
        { font, size: view.large ? 36 : 26, stroke: INK, incrs: STEP_INCRS, values: tickValues },
        { label: t('axis.jac'), font, labelFont: font, stroke: INK, size: fitAxis, labelSize: view.large ? 22 : 16, splits: decadeSplits, values: decadeValues },
      ],
      series: [
        { label: t(back ? 'x.back' : 'x.step'), value: (u, v) => (v == null ? '—' : fmtTick(v)) },
        ...table.map((s, i) => ({ label: labels[i], ...line(s, stroke(s, this.table.run), s.width), value: legendValue })),
      ],
      cursor: { sync: { key: 'gradviz' }, drag: { x: false, y: false } },
      legend: { live: true, markers: MARKERS, mount: (self, el) => this.jacLegend.append(el) },
    }, data, this.jacEl);
    this.resize();
  }
}
