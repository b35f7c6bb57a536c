// The training lab: models trained in the server, streamed as progress.
// Charts redraw at most once per animation frame; each run's heatmap of
// the probe profile over iterations grows one column per progress
// message, painted into a small bitmap that is scaled onto the screen.

import { t } from './i18n.js';
import { describe, num as prose } from './describe.js';
import { fmtNum, log10, decadeSplits, decadeValues, legendValue, fitAxis, dataRange } from './plot.js';
import { fmtTick, tickValues } from './numbers.js';
import { colorOf, fitCanvas, drawLegend, SPECIAL } from './heatmap.js';
import { appliesTo } from './schema.js';
import { LAB } from './url.js';

// Each cell's colour, the same as in the server's lab figures
// (internal/render/lab.go): the current run's blue, then pin colours.
export const CELL_COLORS = { rnn: '#0072B2', lstm: '#008A66', gru: '#B07800', attn: '#B8558F' };
const FADED = { rnn: 'rgba(0,114,178,0.45)', lstm: 'rgba(0,138,102,0.45)', gru: 'rgba(176,120,0,0.5)', attn: 'rgba(184,85,143,0.45)' };
const NAN_COLOR = '#C00000';

// The heatmap shows ‖∂E/∂s_k‖/‖∂E/∂s_T‖ from 10^HEAT_LO to 10^HEAT_HI,
// fixed so that columns drawn early and late, and runs side by side,
// share one scale. The memory horizon is where it crosses 1e-3.
const HEAT_LO = -10;
const HEAT_HI = 2;

// everyFor picks the iterations per progress message: about 200 columns
// per run, and never more than one message per 5 iterations.
export function everyFor(iterations) {
  return Math.max(5, Math.min(1000, Math.round(iterations / 200)));
}

// applyTrainLimits takes the server's training bounds (limits.train of
// the bootstrap data and of hello: -max-train-batch and
// -max-train-iterations): the lab's inputs, the values a URL may give
// them and their defaults stay within them, and so does lab, the lab
// state shown, when given.
export function applyTrainLimits(train, lab) {
  if (!train) return;
  for (const name of ['batch', 'iterations']) {
    const max = train[name];
    if (!Number.isInteger(max) || max < 1) continue;
    const spec = LAB[name];
    spec.max = max;
    spec.def = Math.min(spec.def, max);
    const el = document.getElementById(name);
    if (el) el.setAttribute('aria-valuemax', String(max));
    if (lab && lab[name] > max) lab[name] = max;
  }
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export class Lab {
  // els: the panel's elements by role; onState(state) reports the run state.
  constructor(els, { onState }) {
    this.els = els;
    this.onState = onState;
    this.id = 0;
    this.training = null; // the stream shown: {start, runs, state}
    this.previous = null; // the stream before it, drawn faded
    this.visible = false;
    this.large = false;
    this.chart = 'accuracy';
    this.frame = 0;
    this.dirty = false;
    this.lossPlot = null;
    this.sidePlot = null;
    this.lossKey = '';
    this.sideKey = '';
    this.progressCount = 0;
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(els.loss);
    this.observer.observe(els.side);
    this.observer.observe(els.heat);
  }

  owns(id) {
    return id !== 0 && id === this.id;
  }

  // begin registers the request id of a train message about to be sent.
  begin(id, request) {
    if (this.training && this.training.runs.some((r) => r.iters.length) && request.single) {
      this.previous = this.training;
    } else {
      this.previous = null;
    }
    this.id = id;
    document.body.dataset.trainId = String(id);
    this.training = { start: null, runs: [], state: 'starting', request };
    this.progressCount = 0;
    this.setState('starting');
    this.els.heat.replaceChildren();
    this.schedule();
  }

  // stopping: the page sent stop; the server will end each run.
  stopping() {
    if (this.training && (this.training.state === 'running' || this.training.state === 'starting')) {
      this.setState('stopping');
    }
  }

  // lost: the connection closed, and the server stopped the training.
  lost() {
    if (this.training && ['running', 'starting', 'stopping'].includes(this.training.state)) {
      for (const r of this.training.runs) if (!r.reason) r.reason = 'stopped';
      this.setState('stopped');
      this.schedule();
    }
  }

  get running() {
    return !!this.training && ['running', 'starting', 'stopping'].includes(this.training.state);
  }

  setState(state) {
    if (this.training) this.training.state = state;
    this.onState(state);
  }

  handle(msg) {
    const tr = this.training;
    if (!tr) return;
    switch (msg.type) {
      case 'trainStart': {
        tr.start = msg;
        const steps = msg.config.T;
        const cols = Math.ceil(msg.iterations / msg.every);
        tr.runs = msg.runs.map((r) => ({
          cell: r.cell, iters: [], loss: [], acc: [], grad: [], gradc: [], clipRate: [], horizon: [], nonFinite: [],
          last: null, reason: '', doneIter: 0, cols, steps,
          bitmap: new ImageData(Math.max(1, cols), Math.max(1, steps)),
          horizonAt: new Float32Array(Math.max(1, cols)).fill(-1),
          colsDrawn: 0, canvas: null, scratch: null,
        }));
        this.buildHeatmaps();
        this.setState('running');
        break;
      }
      case 'progress': {
        const run = tr.runs[msg.run];
        if (!run) return;
        this.progressCount++;
        run.iters.push(msg.iter);
        run.loss.push(msg.loss);
        run.acc.push(msg.accuracy);
        run.grad.push(msg.gradNorm);
        run.gradc.push(msg.gradNormClipped);
        run.clipRate.push(msg.clipRate);
        run.horizon.push(msg.horizon);
        if (msg.nonFinite > 0) run.nonFinite.push(msg.iter);
        run.last = msg;
        this.paintColumn(run, msg);
        break;
      }
      case 'trainDone': {
        const run = tr.runs[msg.run];
        if (!run) return;
        run.reason = msg.reason;
        run.doneIter = msg.iter;
        if (tr.runs.every((r) => r.reason)) this.finish();
        break;
      }
      case 'done':
        this.finish();
        break;
      case 'error':
        this.setState('error');
        break;
      default:
        return;
    }
    this.schedule();
  }

  // finish ends the stream: after every run's trainDone, or at done,
  // which alone ends a training stopped or replaced before it started.
  finish() {
    const tr = this.training;
    if (['finished', 'stopped', 'diverged'].includes(tr.state)) return;
    if (!tr.runs.length) {
      this.setState('stopped');
      return;
    }
    const reasons = tr.runs.map((r) => r.reason || 'finished');
    let state = 'finished';
    if (reasons.includes('stopped') || reasons.includes('limit')) state = 'stopped';
    else if (reasons.every((r) => r === 'diverged')) state = 'diverged';
    this.setState(state);
  }

  // ---- drawing ----

  schedule() {
    this.dirty = true;
    if (this.frame || !this.visible) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.dirty) this.draw();
    });
  }

  // show tells the lab whether its tab is visible and how to draw; it
  // redraws when that changed (the charts are rebuilt, since their labels
  // may be in another language now).
  show(visible, large, chart) {
    const changed = visible !== this.visible || large !== this.large || chart !== this.chart;
    this.visible = visible;
    this.large = large;
    this.chart = chart;
    if (visible && changed) {
      this.lossKey = '';
      this.sideKey = '';
      this.schedule();
    }
  }

  // relabel rebuilds every chart, for a language switch.
  relabel() {
    this.lossKey = '';
    this.sideKey = '';
    for (const fig of this.els.heat.querySelectorAll('figcaption')) fig.textContent = t(`opt.cell.${fig.dataset.cell}`);
    this.schedule();
  }

  resize() {
    if (!this.visible) return;
    for (const [u, el] of [[this.lossPlot, this.els.loss], [this.sidePlot, this.els.side]]) {
      if (!u) continue;
      const w = Math.max(200, Math.floor(el.clientWidth));
      const h = Math.max(100, Math.floor(el.clientHeight));
      if (w !== u.width || h !== u.height) u.setSize({ width: w, height: h });
    }
    this.drawHeatmaps();
  }

  draw() {
    this.dirty = false;
    this.drawLoss();
    this.drawSide();
    this.drawHeatmaps();
    this.drawTable();
    this.drawStatus();
    this.summarize();
    document.body.dataset.lossPoints = String(this.training ? this.training.runs.reduce((n, r) => n + r.iters.length, 0) : 0);
  }

  // summarize describes the two charts in words, from the runs' data.
  summarize() {
    const tr = this.training;
    const runs = tr ? tr.runs.filter((r) => r.last) : [];
    if (!runs.length) {
      describe(this.els.loss, t('sum.lab.none'));
      describe(this.els.side, t('sum.lab.none'));
      return;
    }
    const name = (r) => t(`opt.cell.${r.cell}`);
    const iters = Math.max(...runs.map((r) => r.last.iter));
    describe(this.els.loss, t('sum.lab.loss', {
      iters,
      runs: runs.map((r) => t('sum.lab.run', { cell: name(r), a: prose(r.loss[0]), b: prose(r.last.loss) })).join('; '),
    }));
    const chart = this.chart;
    const pick = {
      accuracy: (m) => prose(m.accuracy),
      grad: (m) => `${prose(m.gradNorm)} / ${prose(m.gradNormClipped)}`,
      horizon: (m) => t('lab.horizon.value', { h: m.horizon, T: runs[0].steps - 1 }),
      profile: (m) => (m.profile ? `${prose(m.profile[m.profile.length - 1])} → ${prose(m.profile[0])}` : '—'),
    }[chart] ?? ((m) => prose(m.accuracy));
    const select = document.getElementById('lab-chart');
    const label = select ? select.options[select.selectedIndex]?.text ?? '' : '';
    describe(this.els.side, t('sum.lab.side', {
      chart: label, iter: iters,
      runs: runs.map((r) => t('sum.lab.value', { cell: name(r), v: pick(r.last) })).join('; '),
    }));
    for (const r of runs) {
      const p = r.last.profile;
      if (!r.canvas || !p || !p.length) continue;
      describe(r.canvas, t('sum.lab.heat', {
        cell: name(r), n: r.iters.length, T: p.length, a: prose(p[p.length - 1]), b: prose(p[0]),
      }));
    }
  }

  // union builds one x axis for several runs' iterations.
  union(lists) {
    const set = new Set();
    for (const l of lists) for (const v of l) set.add(v);
    return [...set].sort((a, b) => a - b);
  }

  // align puts a run's values on x: undefined where it has no point (a
  // dropped message, joined over), null where the value is not finite (a
  // gap), else the value through fn.
  align(x, iters, values, fn) {
    const at = new Map();
    iters.forEach((it, i) => at.set(it, values[i]));
    return x.map((it) => (at.has(it) ? fn(at.get(it)) : undefined));
  }

  drawLoss() {
    const tr = this.training;
    const runs = tr ? tr.runs : [];
    const prev = this.previous ? this.previous.runs : [];
    const x = this.union([...runs, ...prev].map((r) => r.iters));
    const series = [];
    const data = [x];
    const measured = [];
    for (const r of prev) {
      series.push({ label: t('lab.prev', { cell: t(`opt.cell.${r.cell}`), what: this.previous.label || '' }), stroke: FADED[r.cell], width: 1.5, dash: [6, 4] });
      data.push(this.align(x, r.iters, r.loss, log10));
      measured.push(data[data.length - 1]);
    }
    for (const r of runs) {
      series.push({ label: t('lab.loss.of', { cell: t(`opt.cell.${r.cell}`) }), stroke: CELL_COLORS[r.cell], width: 2.25 });
      data.push(this.align(x, r.iters, r.loss, log10));
      measured.push(data[data.length - 1]);
    }
    const baseline = tr && tr.start ? num(tr.start.baseline) : null;
    if (baseline !== null) {
      series.push({ label: t('lab.baseline', { v: fmtNum(baseline) }), stroke: '#555', width: 1.5, dash: [8, 5] });
      data.push(x.map(() => log10(baseline)));
    }
    this.lossRange = dataRange(measured.map((a) => a.map((v) => (v === undefined ? null : v))), baseline !== null ? [[log10(baseline)]] : []);
    // A loss far above chance (an exploding start) would squash the
    // curves into a line: such points leave the chart at the top.
    if (baseline !== null) {
      const r = this.lossRange;
      r[1] = Math.min(r[1], Math.ceil(log10(baseline)) + 3);
      if (r[0] > r[1] - 2) r[0] = r[1] - 2;
    }
    this.nanMarks = [];
    for (const r of [...prev, ...runs]) for (const it of r.nonFinite) this.nanMarks.push(it);
    const iterations = tr && tr.start ? tr.start.iterations : 100;
    this.lossX = [0, Math.max(iterations, ...(prev.length ? [this.previous.start?.iterations ?? 0] : []))];
    const key = JSON.stringify([series.map((s) => s.label + s.stroke), this.large]);
    if (key !== this.lossKey || !this.lossPlot) {
      this.lossKey = key;
      if (this.lossPlot) this.lossPlot.destroy();
      this.els.lossLegend.replaceChildren();
      this.lossPlot = this.makePlot(this.els.loss, this.els.lossLegend, {
        xLabel: t('lab.axis.iter'), yLabel: t('lab.axis.loss'), log: true, series, data,
        range: () => this.lossRange, xRange: () => this.lossX, hook: (u) => this.drawNaN(u),
      });
    } else {
      this.lossPlot.setData(data);
    }
    this.els.loss.dataset.points = String(runs.reduce((n, r) => n + r.iters.length, 0));
    this.els.loss.dataset.nan = String(this.nanMarks.length);
  }

  drawNaN(u) {
    if (!this.nanMarks || !this.nanMarks.length) return;
    const ctx = u.ctx;
    const dpr = devicePixelRatio;
    const { top, height } = u.bbox;
    ctx.save();
    ctx.strokeStyle = NAN_COLOR;
    ctx.fillStyle = NAN_COLOR;
    ctx.lineWidth = 2 * dpr;
    const size = (this.large ? 15 : 12) * dpr;
    ctx.font = `bold ${size}px system-ui, sans-serif`;
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left'; // uPlot leaves the axes' alignment behind
    let lastPx = -Infinity;
    for (const it of this.nanMarks) {
      const px = Math.round(u.valToPos(it, 'x', true));
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, top + height);
      ctx.stroke();
      if (px - lastPx > 80 * dpr) {
        const label = t('lab.nan', { i: it });
        const w = ctx.measureText(label).width;
        const { left, width } = u.bbox;
        let tx = px + 4 * dpr;
        if (tx + w > left + width) tx = px - 4 * dpr - w;
        tx = Math.max(left + 2 * dpr, tx);
        ctx.fillStyle = 'rgba(255,255,255,0.85)';
        ctx.fillRect(tx - 2 * dpr, top + 22 * dpr, w + 4 * dpr, size + 4 * dpr);
        ctx.fillStyle = NAN_COLOR;
        ctx.fillText(label, tx, top + 24 * dpr);
        lastPx = px;
      }
    }
    ctx.restore();
  }

  drawSide() {
    const tr = this.training;
    const runs = tr ? tr.runs : [];
    const chart = this.chart;
    const series = [];
    let data;
    let yLabel;
    let xLabel = t('lab.axis.iter');
    let log = false;
    let range;
    let xRange = () => [0, tr && tr.start ? tr.start.iterations : 100];
    const cellName = (r) => t(`opt.cell.${r.cell}`);
    if (chart === 'profile') {
      // The probe profile each run has now, against the step k.
      const T = runs.length ? runs[0].steps : 1;
      const x = Array.from({ length: T }, (_, i) => i + 1);
      data = [x];
      for (const r of runs) {
        series.push({ label: cellName(r), stroke: CELL_COLORS[r.cell], width: 2 });
        data.push(x.map((k) => (r.last && r.last.profile ? log10(r.last.profile[k - 1]) : null)));
      }
      log = true;
      xLabel = t('x.step');
      yLabel = t('axis.y');
      xRange = () => [1, Math.max(2, T)];
      range = () => dataRange(data.slice(1));
    } else {
      const x = this.union(runs.map((r) => r.iters));
      data = [x];
      for (const r of runs) {
        if (chart === 'accuracy') {
          series.push({ label: cellName(r), stroke: CELL_COLORS[r.cell], width: 2 });
          data.push(this.align(x, r.iters, r.acc, num));
        } else if (chart === 'horizon') {
          series.push({ label: cellName(r), stroke: CELL_COLORS[r.cell], width: 2 });
          data.push(this.align(x, r.iters, r.horizon, num));
        } else {
          series.push({ label: t('lab.grad.before', { cell: cellName(r) }), stroke: CELL_COLORS[r.cell], width: 2 });
          data.push(this.align(x, r.iters, r.grad, log10));
          series.push({ label: t('lab.grad.after', { cell: cellName(r) }), stroke: CELL_COLORS[r.cell], width: 1.5, dash: [4, 3] });
          data.push(this.align(x, r.iters, r.gradc, log10));
        }
      }
      if (chart === 'accuracy') {
        // The adding task is a regression: its accuracy is the share of
        // answers within ±0.04 of the sum, against always answering 1.
        const adding = tr && tr.start && tr.start.task === 'adding' ? '.adding' : '';
        yLabel = t(`lab.axis.acc${adding}`);
        range = () => [0, 1];
        const chance = tr && tr.start ? num(tr.start.chanceAccuracy) : null;
        if (chance !== null) {
          series.push({ label: t(`lab.chance${adding}`, { v: fmtNum(chance) }), stroke: '#555', width: 1.5, dash: [8, 5] });
          data.push(x.map(() => chance));
        }
      } else if (chart === 'horizon') {
        yLabel = t('lab.axis.horizon');
        const T = runs.length ? runs[0].steps : 1;
        range = () => [0, T];
        series.push({ label: t('lab.horizon.max', { T: T - 1 }), stroke: '#555', width: 1.5, dash: [8, 5] });
        data.push(x.map(() => T - 1));
      } else {
        yLabel = t('lab.axis.grad');
        log = true;
        const measured = data.slice(1).map((a) => a.map((v) => (v === undefined ? null : v)));
        const th = tr && tr.start && tr.start.config.clip === 'global-norm' ? num(tr.start.config.threshold) : null;
        if (th !== null) {
          series.push({ label: t('lab.threshold', { v: fmtNum(th) }), stroke: '#D55E00', width: 1.25, dash: [3, 3] });
          data.push(x.map(() => log10(th)));
        }
        const r = dataRange(measured, th !== null ? [[log10(th)]] : []);
        range = () => r;
      }
    }
    const key = JSON.stringify([chart, series.map((s) => s.label + s.stroke), this.large]);
    if (key !== this.sideKey || !this.sidePlot) {
      this.sideKey = key;
      if (this.sidePlot) this.sidePlot.destroy();
      this.els.sideLegend.replaceChildren();
      this.sideRange = range;
      this.sidePlot = this.makePlot(this.els.side, this.els.sideLegend, { xLabel, yLabel, log, series, data, range: () => this.sideRange(), xRange });
    } else {
      this.sideRange = range;
      this.sidePlot.setData(data);
    }
  }

  makePlot(el, legend, { xLabel, yLabel, log, series, data, range, xRange, hook }) {
    const large = this.large;
    const font = large ? '16px system-ui, sans-serif' : '11px system-ui, sans-serif';
    const labelFont = large ? 'bold 17px system-ui, sans-serif' : 'bold 12px system-ui, sans-serif';
    const yAxis = { label: yLabel, font, labelFont, stroke: '#222', size: fitAxis, labelSize: large ? 26 : 20, labelGap: 2, values: tickValues };
    if (log) Object.assign(yAxis, { splits: decadeSplits, values: decadeValues });
    return new uPlot({
      width: Math.max(200, Math.floor(el.clientWidth)),
      height: Math.max(100, Math.floor(el.clientHeight)),
      pxAlign: 0,
      scales: { x: { time: false, range: xRange }, y: { range } },
      axes: [{ label: xLabel, font, labelFont, stroke: '#222', size: large ? 44 : 32, labelSize: large ? 26 : 20, values: tickValues }, yAxis],
      series: [
        { label: xLabel, value: (u, v) => (v == null ? '—' : fmtTick(v)) },
        ...series.map((s) => ({
          label: s.label, stroke: s.stroke, width: s.width, dash: s.dash, spanGaps: false,
          points: { show: false }, value: log ? legendValue : (u, v) => (v == null ? '—' : fmtNum(v)),
        })),
      ],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true, mount: (self, lg) => legend.append(lg) },
      hooks: hook ? { draw: [hook] } : {},
    }, data, el);
  }

  // ---- heatmaps ----

  buildHeatmaps() {
    const tr = this.training;
    const boxes = tr.runs.map((r, i) => {
      const fig = document.createElement('figure');
      fig.className = 'heat';
      const cap = document.createElement('figcaption');
      cap.dataset.cell = r.cell;
      cap.textContent = t(`opt.cell.${r.cell}`);
      const c = document.createElement('canvas');
      c.className = 'heat-canvas';
      c.id = `lab-heat-${i}`;
      c.setAttribute('role', 'img');
      c.setAttribute('aria-label', t('lab.heat.aria', { cell: t(`opt.cell.${r.cell}`) }));
      c.dataset.cell = r.cell;
      r.canvas = c;
      r.scratch = document.createElement('canvas');
      r.scratch.width = r.bitmap.width;
      r.scratch.height = r.bitmap.height;
      fig.append(cap, c);
      return fig;
    });
    this.els.heat.replaceChildren(...boxes);
    this.els.heat.dataset.runs = String(boxes.length);
  }

  // paintColumn writes one progress message's profile, relative to its
  // last step, into the run's bitmap: steps back T−k upwards from 0.
  paintColumn(run, msg) {
    const tr = this.training;
    const col = Math.min(run.cols - 1, Math.ceil(msg.iter / tr.start.every) - 1);
    const p = msg.profile || [];
    const T = run.steps;
    const lastV = num(p[T - 1]);
    const img = run.bitmap;
    const nonFinite = msg.nonFinite > 0 || p.some((v) => typeof v !== 'number');
    for (let k = 1; k <= T; k++) {
      const v = p[k - 1];
      let c;
      if (nonFinite || typeof v !== 'number') c = SPECIAL.nonFinite;
      else if (lastV === null || lastV === 0) c = v === 0 ? SPECIAL.zero : [255, 255, 255];
      else c = colorOf(v / lastV, HEAT_LO, HEAT_HI);
      // Row 0 is the top of the bitmap: k = 1, the most steps back.
      const i = ((k - 1) * img.width + col) * 4;
      img.data[i] = c[0];
      img.data[i + 1] = c[1];
      img.data[i + 2] = c[2];
      img.data[i + 3] = 255;
    }
    run.horizonAt[col] = nonFinite ? -1 : msg.horizon;
    run.colsDrawn = Math.max(run.colsDrawn, col + 1);
    run.dirtyBitmap = true;
  }

  drawHeatmaps() {
    const tr = this.training;
    if (!tr || !this.visible) return;
    for (const run of tr.runs) {
      if (!run.canvas || !run.canvas.clientWidth) continue;
      if (run.dirtyBitmap) {
        run.scratch.getContext('2d').putImageData(run.bitmap, 0, 0);
        run.dirtyBitmap = false;
      }
      const { ctx, w, h } = fitCanvas(run.canvas);
      const font = this.large ? 15 : 11;
      const left = font * 3.2;
      const bottom = font + 8;
      const pw = w - left - 4;
      const ph = h - bottom - 4;
      ctx.clearRect(0, 0, w, h);
      ctx.fillStyle = '#f0f0ee';
      ctx.fillRect(left, 4, pw, ph);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(run.scratch, left, 4, pw, ph);
      ctx.strokeStyle = '#888';
      ctx.lineWidth = 1;
      ctx.strokeRect(left - 0.5, 3.5, pw + 1, ph + 1);
      // The memory horizon, a white line over a dark one to read on any colour.
      const colW = pw / run.cols;
      const yOf = (steps) => 4 + ph - ((steps + 0.5) / run.steps) * ph;
      for (const [color, width] of [['rgba(0,0,0,0.6)', 3], ['#fff', 1.5]]) {
        ctx.strokeStyle = color;
        ctx.lineWidth = width;
        ctx.beginPath();
        let pen = false;
        for (let c = 0; c < run.colsDrawn; c++) {
          const hz = run.horizonAt[c];
          if (hz < 0) {
            pen = false;
            continue;
          }
          const x = left + (c + 0.5) * colW;
          if (pen) ctx.lineTo(x, yOf(hz));
          else ctx.moveTo(x, yOf(hz));
          pen = true;
        }
        ctx.stroke();
      }
      ctx.fillStyle = '#222';
      ctx.font = `${font}px system-ui, sans-serif`;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      ctx.fillText('0', left - 4, 4 + ph - 4);
      ctx.fillText(String(run.steps - 1), left - 4, 10);
      ctx.textBaseline = 'top';
      ctx.textAlign = 'left';
      ctx.fillText(t('lab.heat.x'), left, 6 + ph);
      ctx.textAlign = 'right';
      ctx.fillText(String(tr.start.iterations), left + pw, 6 + ph);
      run.canvas.dataset.columns = String(run.colsDrawn);
    }
    const legendSpecials = [[SPECIAL.nonFinite, t('map.nonFinite')], [SPECIAL.zero, t('map.zero')]];
    if (this.els.heatLegend.clientWidth) {
      drawLegend(this.els.heatLegend, { lo: HEAT_LO, hi: HEAT_HI, title: t('lab.heat.legend'), specials: legendSpecials, clampLow: true, clampHigh: true, large: this.large });
    }
  }

  // ---- numbers ----

  drawTable() {
    const tr = this.training;
    const rows = (tr ? tr.runs : []).map((r) => {
      const m = r.last;
      const tr_ = document.createElement('tr');
      const cells = [
        t(`opt.cell.${r.cell}`),
        m ? String(m.iter) : '—',
        m ? fmtNum(m.loss) : '—',
        m ? fmtNum(m.accuracy) : '—',
        m ? fmtNum(m.gradNorm) : '—',
        m ? fmtNum(m.gradNormClipped) : '—',
        m ? `${Math.round((num(m.clipRate) ?? 0) * 100)} %` : '—',
        String(r.nonFinite.length ? r.nonFinite.length : 0),
        m ? t('lab.horizon.value', { h: m.horizon, T: r.steps - 1 }) : '—',
        m ? fmtNum(m.itersPerSecond) : '—',
        t(`lab.reason.${r.reason || (tr.state === 'stopping' ? 'stopping' : 'running')}`),
      ];
      cells.forEach((text, i) => {
        const td = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) {
          td.scope = 'row';
          td.dataset.cell = r.cell;
        }
        td.textContent = text;
        if (i === 10 && r.reason) td.dataset.reason = r.reason;
        tr_.append(td);
      });
      return tr_;
    });
    this.els.tableBody.replaceChildren(...rows);
    this.els.table.hidden = rows.length === 0;
  }

  drawStatus() {
    const tr = this.training;
    const el = this.els.status;
    if (!tr) {
      el.textContent = t('lab.state.idle');
      return;
    }
    const iter = Math.max(0, ...tr.runs.map((r) => (r.last ? r.last.iter : 0)));
    const total = tr.start ? tr.start.iterations : tr.request.iterations;
    el.textContent = t(`lab.state.${tr.state}`, { i: iter, n: total });
    const diverged = tr.runs.filter((r) => r.reason === 'diverged');
    const banner = this.els.banner;
    if (diverged.length) {
      banner.textContent = diverged.map((r) => t('lab.diverged', { cell: t(`opt.cell.${r.cell}`), i: r.doneIter })).join(' ');
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    if (tr.start) {
      const c = tr.start.config;
      const parts = [t(`lab.task.${tr.start.task}`), `T=${tr.request.T}`, `H=${c.H}`];
      if (tr.start.task === 'recall') parts.push(`K=${c.K}`);
      parts.push(`${t('short.gain')} ${fmtNum(c.gain)}`, t(`opt.init.${c.init}`));
      if (tr.runs.some((r) => appliesTo('act', r.cell))) parts.push(t(`opt.act.${c.act}`));
      if (tr.runs.some((r) => appliesTo('forgetBias', r.cell))) parts.push(`${t('short.forgetBias')} ${fmtNum(c.forgetBias)}`);
      parts.push(c.clip === 'none' ? t('lab.noclip') : `${t(`opt.clip.${c.clip}`)} θ=${fmtNum(c.threshold)}`);
      parts.push(`${t(`lab.opt.${tr.request.optimizer}`)} lr=${fmtNum(tr.request.lr)}`, `${t('lab.batch.short')} ${tr.request.batch}`);
      this.els.summary.textContent = t('lab.summary', { what: parts.join(' · ') });
    } else {
      this.els.summary.textContent = '';
    }
  }
}
