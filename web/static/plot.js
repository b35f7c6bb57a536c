// The plots: ‖∂E/∂s_k‖ on a log axis (uPlot, loaded as the global uPlot),
// and an optional small chart of the per-step factor ‖J_k‖.
//
// The y values are drawn as log10(v) on a linear uPlot scale, labelled
// with powers of ten. uPlot's own log scale (distr: 3) finds no tick
// spacing once the range reaches past 1e17, and an exploding run spans
// 1e-300..1e300; the picture is the same, and the labels always appear.

import { t } from './i18n.js';

// Okabe–Ito, a palette that colour-blind readers can tell apart.
export const COLORS = {
  main: '#0072B2',
  raw: 'rgba(0,114,178,0.38)',
  cell: '#009E73',
  rev: '#CC79A7',
  bound: '#555555',
  threshold: '#D55E00',
  states: 'rgba(110,110,110,0.85)',
  overflow: '#C00000',
  jac: '#56B4E9',
  path: '#000000',
};
// Pins take the palette's other colours; those the cell-state and reverse
// curves use (green, purple) come last, so that they rarely meet.
export const PIN_COLORS = ['#E69F00', '#56B4E9', '#D55E00', '#000000', '#8C7A00', '#009E73', '#CC79A7'];

const MIN_EXP = -323; // 10^-324 is 0 in float64
const MAX_EXP = 308;

// pow10Label writes 10^e for an axis tick: 1e-12, 0.01, 1, 100, 1e3.
// (Superscript digits would read better, but many fonts lack ⁴–⁹.)
export function pow10Label(e) {
  if (e >= -2 && e <= 2) return String(10 ** e);
  return `1e${e}`;
}

// fmtNum writes a number with about three significant digits; the
// strings that stand for non-finite numbers in JSON pass through.
export function fmtNum(v, digits = 3) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v === 'Infinity' ? '∞' : v === '-Infinity' ? '−∞' : v;
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return String(Number(v.toPrecision(digits)));
  const [m, e] = v.toExponential(digits - 1).split('e');
  return `${Number(m)}e${e.replace('+', '')}`;
}

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
// Guides (Pascanu's bound) widen it by at most as many decades as the
// data span (6 at least): a bound of 1e200 over data near 1 would
// squash the curves into a line; the bound leaves the plot instead.
export function dataRange(measured, guides = []) {
  let [lo, hi] = extent(measured);
  const [glo, ghi] = extent(guides);
  if (lo === Infinity) {
    [lo, hi] = [glo, ghi];
  } else if (glo !== Infinity) {
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
  constructor({ el, legend, jacEl, jacLegend, onDraw }) {
    this.el = el;
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

  // render draws state: {res (profile message), pins [{label, color, res}],
  // view {x, states, jac, large}, reveal (first step shown)}.
  render(state) {
    const { res, pins, view } = state;
    const back = view.x === 'back';
    const cfg = res.config;
    const T = cfg.T;
    const n = Math.max(T, ...pins.filter((p) => p.res).map((p) => p.res.config.T));
    const reveal = state.reveal ?? 1;
    const stepClip = cfg.clip === 'step-norm' || cfg.clip === 'step-value';
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

    const lstm = cfg.cell === 'lstm';
    const mainLabel = lstm ? (stepClip ? 's.dE_dh.clipped' : 's.dE_dh') : (stepClip ? 's.dE_ds.clipped' : 's.dE_ds');
    add({ label: t(mainLabel), stroke: COLORS.main, width: 2.5, key: 'dE_ds' }, ...grad(prof.dE_ds));
    if (stepClip) {
      add({ label: t('s.dE_ds_raw'), stroke: COLORS.raw, width: 2, key: 'dE_ds_raw' }, ...grad(prof.dE_ds_raw));
    }
    if (prof.dE_dc) {
      add({ label: t('s.dE_dc'), stroke: COLORS.cell, width: 2, dash: [2, 4], key: 'dE_dc' }, ...grad(prof.dE_dc));
    }
    if (prof.cellPath) {
      // The LSTM's two paths: the share of c_k that reaches c_T through
      // the forget gates, and what it would be with every gate at its bias.
      add({ label: t('s.cellPath'), stroke: COLORS.path, width: 2, key: 'cellPath' }, ...grad(prof.cellPath));
    }
    if (prof.forgetPrediction) {
      add({ label: t('s.forgetPrediction'), stroke: COLORS.path, width: 2, dash: [1, 5], key: 'forgetPrediction', guide: true }, place(prof.forgetPrediction, n, back));
    }
    if (prof.dE_ds_rev) {
      // With the loss at step T only, the reverse chain has one point,
      // which a line without markers would not show.
      const dots = cfg.loss === 'last' ? { show: true, size: 8, fill: COLORS.rev } : undefined;
      add({ label: t('s.dE_ds_rev'), stroke: COLORS.rev, width: 2, key: 'dE_ds_rev', points: dots }, ...grad(prof.dE_ds_rev));
    }
    if (prof.bound) {
      add({ label: t('s.bound'), stroke: COLORS.bound, width: 1.5, dash: [8, 5], key: 'bound', guide: true }, place(prof.bound, n, back));
    }
    if (stepClip) {
      const label = t(cfg.clip === 'step-value' ? 's.threshold.value' : 's.threshold');
      add({ label, stroke: COLORS.threshold, width: 1.25, dash: [3, 3], key: 'threshold' }, constant(cfg.threshold, n));
    }
    const forcedStates = !!(overflow && overflow.forward);
    if (view.states || forcedStates) {
      add({ label: t('s.stateNorm'), stroke: COLORS.states, width: 1.5, key: 'stateNorm' }, place(prof.stateNorm, n, back));
    }
    pins.forEach((p, i) => {
      if (!p.res) return;
      add({ label: t('s.pin', { label: p.label }), stroke: p.color, width: 1.75, key: `pin${i}` }, place(p.res.profile.dE_ds, n, back));
    });

    this.yRange = dataRange(measured, guides);
    this.marker = null;
    if (overflow && (overflow.forward || overflow.backward)) {
      const k = overflow.forward || overflow.backward;
      this.marker = { x: back ? T - k : k, label: t('overflow.marker', { k }) };
    }

    this.T = T;
    const key = JSON.stringify([series, view.x, view.large, t('axis.y')]);
    if (key !== this.key || !this.u) {
      this.key = key;
      this.create(series, data, view);
    } else {
      this.u.setData(data);
    }
    this.renderJac(state, x, n, back);
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
      return back ? `${v} (k = ${this.T - v})` : String(v);
    };
    const opts = {
      width,
      height,
      pxAlign: 0,
      scales: {
        x: { time: false },
        y: { range: () => this.yRange },
      },
      axes: [
        { label: t(back ? 'x.back' : 'x.step'), font, labelFont, size: view.large ? 48 : 36, labelSize: view.large ? 28 : 22, stroke: '#222' },
        {
          label: t('axis.y'), font, labelFont, stroke: '#222',
          size: fitAxis, labelSize: view.large ? 28 : 22, labelGap: 2,
          splits: decadeSplits, values: decadeValues,
        },
      ],
      series: [
        { label: t(back ? 'x.back' : 'x.step'), value: fmtX },
        ...series.map((s) => ({
          label: s.label, stroke: s.stroke, width: s.width, dash: s.dash, spanGaps: false,
          points: s.points ?? { show: false },
          value: legendValue,
        })),
      ],
      cursor: { sync: { key: 'gradviz' }, drag: { x: false, y: false } },
      legend: { live: true, mount: (self, el) => this.legend.append(el) },
      hooks: { draw: [(u) => this.drawMarker(u, view)] },
    };
    this.u = new uPlot(opts, data, this.el);
    // The new legend may take more or fewer rows than the old one, and the
    // plot gets what is left: measure again now that it is mounted. (A
    // ResizeObserver would not fire when the final size equals the last.)
    this.resize();
  }

  drawMarker(u, view) {
    const m = this.marker;
    if (m) {
      const ctx = u.ctx;
      const px = Math.round(u.valToPos(m.x, 'x', true));
      const { top, height, left, width } = u.bbox;
      ctx.save();
      ctx.strokeStyle = COLORS.overflow;
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
      ctx.fillStyle = 'rgba(255,255,255,0.9)';
      ctx.fillRect(tx, ty, w + 2 * pad, size + 2 * pad);
      ctx.fillStyle = COLORS.overflow;
      ctx.textAlign = 'left'; // uPlot leaves the axes' alignment behind
      ctx.textBaseline = 'top';
      ctx.fillText(m.label, tx + pad, ty + pad);
      ctx.restore();
    }
    if (this.onDraw) this.onDraw();
  }

  renderJac(state, x, n, back) {
    const { res, view } = state;
    const prof = res.profile;
    const show = view.jac && !!prof.jacobianNorm;
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
    this.jacEl.dataset.drawn = JSON.stringify({ gain: res.config.gain, steps: prof.jacobianNorm.length });
    const th = res.theory;
    const gs = th && typeof th.gamma === 'number' && typeof th.sigmaMax === 'number' ? th.gamma * th.sigmaMax : null;
    const data = [x, place(prof.jacobianNorm, n, back), constant(1, n), constant(gs, n)];
    const range = dataRange([data[1]], [data[2], data[3]]);
    const key = JSON.stringify([view.x, view.large, t('s.jac')]);
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
        { font, size: view.large ? 36 : 26, stroke: '#222' },
        { label: t('axis.jac'), font, labelFont: font, stroke: '#222', size: fitAxis, labelSize: view.large ? 22 : 16, splits: decadeSplits, values: decadeValues },
      ],
      series: [
        { label: t(back ? 'x.back' : 'x.step') },
        { label: t('s.jac'), stroke: COLORS.jac, width: 1.5, points: { show: false }, value: legendValue },
        { label: t('s.one'), stroke: '#999', width: 1, dash: [4, 4], points: { show: false }, value: legendValue },
        { label: t('s.gs'), stroke: COLORS.bound, width: 1, dash: [8, 5], points: { show: false }, value: legendValue },
      ],
      cursor: { sync: { key: 'gradviz' }, drag: { x: false, y: false } },
      legend: { live: true, mount: (self, el) => this.jacLegend.append(el) },
    }, data, this.jacEl);
    this.resize();
  }
}
