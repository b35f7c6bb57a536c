// The gradient map: ‖∂E_t/∂s_k‖ for output steps t (rows, top to bottom)
// and states k (columns), the terms that Loss = sum adds up. Cells with
// k > t have no path and stay blank.

import { describe, num as prose, extentOf } from './describe.js';
import { t } from './i18n.js';
import { colorOf, logExtent, fitCanvas, drawLegend, SPECIAL } from './heatmap.js';
import { fmtNum } from './plot.js';
import { exportButtons, viewExportURL, bindExports, viewFileName } from './exports.js';

export class GradientMap {
  constructor({ canvas, legend, hover, onDraw }) {
    this.canvas = canvas;
    this.legend = legend;
    this.hover = hover;
    this.onDraw = onDraw;
    this.msg = null;
    this.large = false;
    this.geom = null;
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(canvas);
    canvas.addEventListener('mousemove', (e) => this.pointAt(e));
    canvas.addEventListener('mouseleave', () => this.showHover(null));
  }

  render(msg, large) {
    this.msg = msg;
    this.large = large;
    this.draw();
  }

  draw() {
    const msg = this.msg;
    if (!msg || !this.canvas.clientWidth) return;
    const { ctx, w, h } = fitCanvas(this.canvas);
    ctx.clearRect(0, 0, w, h);
    const rows = msg.values;
    const steps = msg.steps;
    const T = rows[0]?.length ?? 0;
    const [lo, hi] = logExtent(rows);
    this.range = [lo, hi];
    const ext = extentOf(...rows);
    const nZero = rows.reduce((n, row) => n + row.filter((v) => v === 0).length, 0);
    describe(this.canvas, t('sum.map', { rows: rows.length, T, lo: ext ? prose(ext[0]) : '—', hi: ext ? prose(ext[1]) : '—', zeros: nZero }));
    const font = this.large ? 16 : 12;
    const left = font * 4;
    const bottom = font * 3;
    const top = 8;
    const right = 10;
    const pw = Math.max(10, w - left - right);
    const ph = Math.max(10, h - top - bottom);
    this.geom = { left, top, pw, ph, T, n: rows.length };

    // Paint the cells into a bitmap of T × rows and scale it up, so that
    // the browser does one draw whatever T is.
    const img = new ImageData(T, rows.length);
    let zeros = 0;
    let nonFinite = 0;
    for (let r = 0; r < rows.length; r++) {
      const tStep = steps[r];
      for (let k = 1; k <= T; k++) {
        const i = (r * T + (k - 1)) * 4;
        if (k > tStep) continue; // no path: blank
        const v = rows[r][k - 1];
        const c = colorOf(v, lo, hi);
        if (c === SPECIAL.zero) zeros++;
        if (c === SPECIAL.nonFinite) nonFinite++;
        img.data[i] = c[0];
        img.data[i + 1] = c[1];
        img.data[i + 2] = c[2];
        img.data[i + 3] = 255;
      }
    }
    const tmp = document.createElement('canvas');
    tmp.width = T;
    tmp.height = rows.length;
    tmp.getContext('2d').putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = '#fff';
    ctx.fillRect(left, top, pw, ph);
    ctx.drawImage(tmp, left, top, pw, ph);
    ctx.strokeStyle = '#888';
    ctx.lineWidth = 1;
    ctx.strokeRect(left - 0.5, top - 0.5, pw + 1, ph + 1);

    // Axes: k along the bottom, t down the side.
    ctx.fillStyle = '#222';
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const k of ticks(T, Math.max(2, Math.floor(pw / (font * 4))))) {
      const x = left + ((k - 0.5) / T) * pw;
      ctx.fillRect(Math.round(x), top + ph, 1, 4);
      ctx.fillText(String(k), x, top + ph + 5);
    }
    ctx.font = `bold ${font}px system-ui, sans-serif`;
    ctx.fillText(t('map.axis.k'), left + pw / 2, top + ph + font + 8);
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const rowTicks = ticks(rows.length, Math.max(2, Math.floor(ph / (font * 2.2))));
    for (const r of rowTicks) {
      const y = top + ((r - 0.5) / rows.length) * ph;
      ctx.fillRect(left - 4, Math.round(y), 4, 1);
      ctx.fillText(String(steps[r - 1]), left - 6, y);
    }
    ctx.save();
    ctx.translate(font * 0.9, top + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.font = `bold ${font}px system-ui, sans-serif`;
    ctx.fillText(t('map.axis.t'), 0, 0);
    ctx.restore();

    const specials = [];
    if (zeros) specials.push([SPECIAL.zero, t('map.zero')]);
    if (nonFinite) specials.push([SPECIAL.nonFinite, t('map.nonFinite')]);
    specials.push([[255, 255, 255], t('map.blank')]);
    drawLegend(this.legend, { lo, hi, title: t('map.legend'), specials, clampLow: true, large: this.large });
    this.canvas.dataset.rows = String(rows.length);
    this.canvas.dataset.T = String(T);
    this.canvas.dataset.range = JSON.stringify([lo, hi]);
    if (this.onDraw) this.onDraw();
  }

  pointAt(e) {
    const g = this.geom;
    if (!g || !this.msg) return;
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left - g.left;
    const y = e.clientY - rect.top - g.top;
    if (x < 0 || y < 0 || x >= g.pw || y >= g.ph) {
      this.showHover(null);
      return;
    }
    const k = Math.floor((x / g.pw) * g.T) + 1;
    const r = Math.floor((y / g.ph) * g.n);
    const tStep = this.msg.steps[r];
    this.showHover({ t: tStep, k, v: k > tStep ? null : this.msg.values[r][k - 1] });
  }

  showHover(p) {
    if (!p) {
      this.hover.textContent = t('map.hover.none');
      return;
    }
    this.hover.textContent = p.v === null
      ? t('map.hover.blank', { t: p.t, k: p.k })
      : t('map.hover', { t: p.t, k: p.k, v: fmtNum(p.v) });
  }
}

// ticks picks about n round positions in 1..max, always with 1 and max.
function ticks(max, n) {
  if (max <= 1) return [1];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [1];
  for (let v = step; v < max; v += step) if (v - out[out.length - 1] >= step * 0.6) out.push(v);
  if (max - out[out.length - 1] < step * 0.6) out.pop();
  out.push(max);
  return out;
}

// ---- the view ----

const $ = (id) => document.getElementById(id);

export const map = { name: 'map', create };

function create(page) {
  const { settings, view } = page;
  const analysis = page.analysis;
  let last = null; // the newest map answer
  const banner = $('map-error');
  const gmap = new GradientMap({ canvas: $('map-canvas'), legend: $('map-legend'), hover: $('map-hover'), onDraw: () => page.drawn('map', last?.config) });
  page.analysisStatus.push($('map-status'));

  // rows: every output step when T is small; fewer when the answer would
  // carry more than about 60 000 numbers.
  const rows = () => Math.max(1, Math.min(settings.T, 200, Math.floor(60000 / settings.T)));

  const buttons = exportButtons('map');
  const toolbar = document.createElement('div');
  toolbar.className = 'toolbar';
  const group = document.createElement('span');
  group.className = 'group';
  group.append(...buttons);
  toolbar.append(group);
  $('panel-map').querySelector('.plot-head').after(toolbar);
  const exportURL = (format) => viewExportURL('map', format, settings, page.defaults, view.lang, { rows: rows() });
  const refreshExports = bindExports(page, buttons, exportURL, (f) => viewFileName('map', settings, f), { status: $('map-status'), banner });

  return {
    name: 'map',
    panel: $('panel-map'),
    messages: ['map'],
    owns: (id) => analysis.owns(id) && analysis.last?.type === 'map',
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
      if (view.tab === 'map') gmap.render(msg, view.large);
      $('map-hover').textContent = msg.steps.length < msg.config.T
        ? t('map.rows', { n: msg.steps.length, T: msg.config.T })
        : t('map.hover.none');
    },
    request: () => analysis.request({ ...page.modelMessage('map'), rows: rows() }),
    redraw() {
      if (last) gmap.render(last, view.large);
    },
    relabel() {
      if (last && view.tab === 'map') gmap.render(last, view.large);
    },
    export: exportURL,
    urlWritten: refreshExports,
  };
}
