// The bidirectional view: ‖∂E_t/∂x_k‖ for every input position k, for
// the one-directional model and its bidirectional version, around one
// output step t. Log axis; an exact 0 (no path from x_k to E_t) is drawn
// on a band of its own at the bottom, since a log axis has no 0.

import { describe, num as prose } from './describe.js';
import { t } from './i18n.js';
import { fmtNum, fitAxis, decadeSplits, pow10Label } from './plot.js';
import { fmtTick, tickValues } from './numbers.js';
import { bindNumberBox, checkNumber, setBounds, showValue } from './numbox.js';
import { exportButtons, viewExportURL, bindExports, viewFileName } from './exports.js';

export const BIDIR_COLORS = { uni: '#0072B2', bi: '#D55E00', t: '#555555' };

// ZERO_GAP is how many decades below the lowest value the 0 band sits.
const ZERO_GAP = 1.5;

export class BidirPlot {
  constructor({ el, legend, onDraw }) {
    this.el = el;
    this.legend = legend;
    this.onDraw = onDraw;
    this.u = null;
    this.key = '';
    this.range = [-1, 1];
    this.zero = -2;
    this.step = 1;
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(el);
  }

  resize() {
    if (!this.u) return;
    const w = Math.max(200, Math.floor(this.el.clientWidth));
    const h = Math.max(120, Math.floor(this.el.clientHeight));
    if (w !== this.u.width || h !== this.u.height) this.u.setSize({ width: w, height: h });
  }

  // render draws msg, the server's sensitivity answer.
  render(msg, large) {
    const T = msg.unidirectional.length;
    this.step = msg.outputStep;
    let lo = Infinity;
    let hi = -Infinity;
    for (const a of [msg.unidirectional, msg.bidirectional]) {
      for (const v of a) {
        if (typeof v === 'number' && v > 0 && v < Infinity) {
          lo = Math.min(lo, Math.log10(v));
          hi = Math.max(hi, Math.log10(v));
        }
      }
    }
    if (lo === Infinity) [lo, hi] = [-1, 1];
    lo = Math.floor(lo);
    hi = Math.ceil(hi);
    if (hi - lo < 2) hi = lo + 2;
    this.zero = lo - ZERO_GAP;
    this.range = [this.zero - 0.5, hi];
    const y = (v) => {
      if (typeof v !== 'number') return null; // NaN, Inf: a gap
      if (v === 0) return this.zero;
      return v > 0 && v < Infinity ? Math.log10(v) : null;
    };
    const x = Array.from({ length: T }, (_, i) => i + 1);
    const data = [x, msg.unidirectional.map(y), msg.bidirectional.map(y)];
    const key = JSON.stringify([large, t('bi.axis.y'), t('bi.uni'), t('bi.bi')]);
    if (key !== this.key || !this.u) {
      this.key = key;
      this.create(data, large);
    } else {
      this.u.setData(data);
    }
    const at = (a, k) => prose(a[k - 1]);
    describe(this.el, t('sum.bidir', {
      t: msg.outputStep, T,
      u1: at(msg.unidirectional, 1), ut: at(msg.unidirectional, msg.outputStep),
      b1: at(msg.bidirectional, 1), bT: at(msg.bidirectional, T),
    }));
    this.el.dataset.plotted = JSON.stringify({ outputStep: msg.outputStep, steps: T, unidirectional: msg.unidirectional, bidirectional: msg.bidirectional });
  }

  create(data, large) {
    if (this.u) this.u.destroy();
    this.legend.replaceChildren();
    const font = large ? '17px system-ui, sans-serif' : '12px system-ui, sans-serif';
    const labelFont = large ? 'bold 18px system-ui, sans-serif' : 'bold 13px system-ui, sans-serif';
    const value = (u, v) => (v == null ? '—' : Math.abs(v - this.zero) < 1e-9 ? '0' : fmtNum(10 ** v));
    const splits = (u, i, min, max) => [this.zero, ...decadeSplits(u, i, this.zero + 0.5, max)];
    const values = (u, sp) => sp.map((e) => (Math.abs(e - this.zero) < 1e-9 ? t('bi.zero') : pow10Label(Math.round(e))));
    this.u = new uPlot({
      width: Math.max(200, Math.floor(this.el.clientWidth)),
      height: Math.max(120, Math.floor(this.el.clientHeight)),
      pxAlign: 0,
      scales: { x: { time: false }, y: { range: () => this.range } },
      axes: [
        { label: t('bi.axis.x'), font, labelFont, stroke: '#222', size: large ? 48 : 36, labelSize: large ? 28 : 22, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], values: tickValues },
        { label: t('bi.axis.y'), font, labelFont, stroke: '#222', size: fitAxis, labelSize: large ? 28 : 22, labelGap: 2, splits, values },
      ],
      series: [
        { label: t('bi.axis.x'), value: (u, v) => (v == null ? '—' : fmtTick(v)) },
        { label: t('bi.uni'), stroke: BIDIR_COLORS.uni, width: 2.5, points: { show: true, size: large ? 7 : 5, fill: BIDIR_COLORS.uni }, value },
        { label: t('bi.bi'), stroke: BIDIR_COLORS.bi, width: 2.5, dash: [7, 4], points: { show: true, size: large ? 7 : 5, fill: BIDIR_COLORS.bi }, value },
      ],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true, mount: (self, el) => this.legend.append(el) },
      hooks: { draw: [(u) => this.decorate(u, large)] },
    }, data, this.el);
    this.resize();
  }

  // decorate shades the 0 band and marks the output step t.
  decorate(u, large) {
    const ctx = u.ctx;
    const dpr = devicePixelRatio;
    const { left, top, width, height } = u.bbox;
    const yBand = u.valToPos(this.zero + 0.5, 'y', true);
    ctx.save();
    ctx.fillStyle = 'rgba(0,0,0,0.05)';
    ctx.fillRect(left, yBand, width, top + height - yBand);
    ctx.strokeStyle = '#999';
    ctx.setLineDash([3 * dpr, 3 * dpr]);
    ctx.lineWidth = dpr;
    ctx.beginPath();
    ctx.moveTo(left, yBand);
    ctx.lineTo(left + width, yBand);
    ctx.stroke();
    const px = Math.round(u.valToPos(this.step, 'x', true));
    ctx.setLineDash([]);
    ctx.strokeStyle = BIDIR_COLORS.t;
    ctx.lineWidth = 2 * dpr;
    ctx.beginPath();
    ctx.moveTo(px, top);
    ctx.lineTo(px, top + height);
    ctx.stroke();
    const size = (large ? 16 : 12) * dpr;
    ctx.font = `bold ${size}px system-ui, sans-serif`;
    ctx.fillStyle = '#222';
    ctx.textBaseline = 'top';
    const pad = 4 * dpr;
    const label = `t = ${this.step}`;
    const lw = ctx.measureText(label).width;
    ctx.fillStyle = 'rgba(255,255,255,0.9)';
    ctx.fillRect(px - lw / 2 - pad, top + pad, lw + 2 * pad, size + pad);
    ctx.fillStyle = '#222';
    ctx.textAlign = 'center';
    ctx.fillText(label, px, top + pad * 1.5);
    ctx.font = `${size}px system-ui, sans-serif`;
    const row = top + pad * 2 + size * 1.3;
    ctx.textAlign = 'right';
    ctx.fillText(`← ${t('bi.past')}`, px - pad, row);
    ctx.textAlign = 'left';
    ctx.fillText(`${t('bi.future')} →`, px + pad, row);
    ctx.restore();
    if (this.onDraw) this.onDraw();
  }
}

// ---- the view ----

const $ = (id) => document.getElementById(id);

export const bidir = { name: 'bidir', create };

function create(page) {
  const { settings, view } = page;
  const analysis = page.analysis;
  let last = null; // the newest sensitivity answer
  const banner = $('bidir-error');
  const plot = new BidirPlot({ el: $('bidir-plot'), legend: $('bidir-legend'), onDraw: () => page.drawn('bidir', last?.config) });
  page.analysisStatus.push($('bidir-status'));

  function outputStep() {
    const T = settings.T;
    return Math.min(T, Math.max(1, view.outputStep || Math.ceil(T / 2)));
  }

  function request() {
    analysis.request({ ...page.modelMessage('sensitivity'), outputStep: outputStep() });
  }

  function showNotes(msg) {
    const sum = (a) => a.slice(msg.outputStep).reduce((s, v) => s + (typeof v === 'number' ? v : 0), 0);
    $('bidir-notes').textContent = t('bi.notes', { u: fmtNum(sum(msg.unidirectional)), b: fmtNum(sum(msg.bidirectional)) });
  }

  // syncOutputStep keeps the t slider within 1..T.
  function syncOutputStep() {
    const T = settings.T;
    const step = outputStep();
    $('outputStep').max = String(T);
    if (document.activeElement !== $('outputStep')) $('outputStep').value = String(step);
    setBounds($('outputStep-num'), 1, T);
    showValue($('outputStep-num'), step);
  }

  function setOutputStep(v) {
    if (!Number.isInteger(v) || v < 1) return;
    view.outputStep = Math.min(v, settings.T);
    syncOutputStep();
    page.updateURL();
    request();
  }

  const buttons = exportButtons('bidir');
  const group = document.createElement('span');
  group.className = 'group';
  group.append(...buttons);
  $('panel-bidir').querySelector('.toolbar').append(group);
  const exportURL = (format) => viewExportURL('bidir', format, settings, page.defaults, view.lang, { outputStep: outputStep() });
  const refreshExports = bindExports(page, buttons, exportURL, (f) => viewFileName('bidir', settings, f), { status: $('bidir-status'), banner });

  $('outputStep').addEventListener('input', (e) => {
    $('err-outputStep').hidden = true;
    $('outputStep-num').removeAttribute('aria-invalid');
    setOutputStep(Number(e.target.value));
  });
  bindNumberBox($('outputStep-num'), {
    check: (text) => checkNumber(t('bi.t'), { lo: 1, hi: settings.T, int: true }, text),
    commit: setOutputStep,
    showError: (text) => {
      $('err-outputStep').textContent = text;
      $('err-outputStep').hidden = !text;
      if (text) $('outputStep-num').setAttribute('aria-invalid', 'true');
      else $('outputStep-num').removeAttribute('aria-invalid');
    },
    step: 1,
  });

  return {
    name: 'bidir',
    panel: $('panel-bidir'),
    messages: ['sensitivity'],
    owns: (id) => analysis.owns(id) && analysis.last?.type === 'sensitivity',
    receive(msg) {
      if (!analysis.owns(msg.id)) return;
      analysis.handle();
      if (msg.type === 'error') {
        page.showServerError(msg, banner);
        return;
      }
      banner.hidden = true;
      page.clearServerErrors();
      last = msg;
      if (view.tab === 'bidir') plot.render(msg, view.large);
      showNotes(msg);
    },
    request,
    redraw() {
      if (last) plot.render(last, view.large);
    },
    relabel() {
      if (!last) return;
      if (view.tab === 'bidir') plot.render(last, view.large);
      showNotes(last);
    },
    show: syncOutputStep,
    export: exportURL,
    urlWritten: refreshExports,
  };
}
