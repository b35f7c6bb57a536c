// The spectrum panel: the eigenvalues of Wh on the complex plane with the
// unit circle and the 1/γ circle, and the singular values as stems with
// the line σ = 1/γ. Drawn on plain canvases from each profile's theory,
// so dragging Gain moves the points with the profile.

import { t } from './i18n.js';
import { fitCanvas } from './heatmap.js';
import { fmtNum } from './plot.js';
import { describe, num as prose } from './describe.js';

const INK = '#222';
const GRID = '#d8d8d4';
const POINT = '#0072B2';
const OUTSIDE = '#D55E00';
const CIRCLE = '#555';

function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export class Spectrum {
  constructor({ plane, stems, caption }) {
    this.plane = plane;
    this.stems = stems;
    this.caption = caption;
    this.theory = null;
    this.large = false;
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(plane);
    this.observer.observe(stems);
  }

  show(theory, large) {
    this.theory = theory;
    this.large = large;
    this.draw();
  }

  draw() {
    const th = this.theory;
    if (!th || !this.plane.clientWidth) return;
    this.drawPlane(th);
    this.drawStems(th);
    this.summarize(th);
  }

  // summarize describes the stems in words (the plane's caption says its
  // part on the page).
  summarize(th) {
    const sv = (th.singularValues || []).map(num).filter((v) => v !== null);
    const gamma = num(th.gamma);
    if (!sv.length || !gamma) return;
    const inv = 1 / gamma;
    describe(this.stems, t('sum.stems', {
      n: sv.length, hi: prose(Math.max(...sv)), lo: prose(Math.min(...sv)), above: sv.filter((v) => v > inv).length, inv: prose(inv),
    }));
  }

  drawPlane(th) {
    const { ctx, w, h } = fitCanvas(this.plane);
    ctx.clearRect(0, 0, w, h);
    const font = this.large ? 15 : 11;
    const gamma = num(th.gamma);
    const inv = gamma ? 1 / gamma : null;
    const eig = (th.eigenvalues || []).map(([re, im]) => [num(re), num(im)]).filter(([re, im]) => re !== null && im !== null);
    let reach = Math.max(1, inv ?? 1);
    for (const [re, im] of eig) reach = Math.max(reach, Math.hypot(re, im));
    reach *= 1.12;
    const side = Math.min(w, h);
    const cx = w / 2;
    const cy = h / 2;
    const scale = (side / 2 - 4) / reach;
    const X = (re) => cx + re * scale;
    const Y = (im) => cy - im * scale;

    ctx.strokeStyle = GRID;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(cx - side / 2, cy);
    ctx.lineTo(cx + side / 2, cy);
    ctx.moveTo(cx, cy - side / 2);
    ctx.lineTo(cx, cy + side / 2);
    ctx.stroke();

    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.fillStyle = '#555';
    ctx.textBaseline = 'top';
    ctx.textAlign = 'right';
    ctx.fillText(t('spec.re'), cx + side / 2 - 2, cy + 2);
    ctx.textAlign = 'left';
    ctx.fillText(t('spec.im'), cx + 3, cy - side / 2 + 1);

    // The unit circle, and the 1/γ circle when it differs.
    ctx.strokeStyle = CIRCLE;
    ctx.lineWidth = 1.25;
    ctx.setLineDash([]);
    ctx.beginPath();
    ctx.arc(cx, cy, scale, 0, 2 * Math.PI);
    ctx.stroke();
    if (inv && Math.abs(inv - 1) > 1e-9) {
      ctx.strokeStyle = OUTSIDE;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.arc(cx, cy, inv * scale, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    // Labels above each circle, kept inside the canvas.
    ctx.textBaseline = 'bottom';
    ctx.textAlign = 'left';
    const label = (text, radius, color) => {
      const tw = ctx.measureText(text).width;
      const x = Math.min(Math.max(2, X(radius * 0.5) - tw / 2), w - tw - 2);
      const y = Math.max(font + 2, Y(radius * 0.866) - 2);
      ctx.fillStyle = 'rgba(255,255,255,0.8)';
      ctx.fillRect(x - 1, y - font - 1, tw + 2, font + 2);
      ctx.fillStyle = color;
      ctx.fillText(text, x, y);
    };
    const same = inv && Math.abs(inv - 1) <= 1e-9;
    label(same ? t('spec.circle.both') : t('spec.circle.unit'), 1, CIRCLE);
    if (inv && !same) label(t('spec.circle.inv', { r: fmtNum(inv) }), inv, OUTSIDE);

    // The eigenvalues: outside the 1/γ circle in vermillion.
    const r = this.large ? 4 : 3;
    let outside = 0;
    for (const [re, im] of eig) {
      const out = inv !== null && Math.hypot(re, im) > inv;
      if (out) outside++;
      ctx.fillStyle = out ? OUTSIDE : POINT;
      ctx.beginPath();
      ctx.arc(X(re), Y(im), r, 0, 2 * Math.PI);
      ctx.fill();
    }
    this.plane.dataset.points = String(eig.length);
    this.plane.dataset.outside = String(outside);
    this.plane.dataset.radius = String(inv ?? '');
    this.caption.textContent = t('spec.caption', { n: eig.length, out: outside, r: inv === null ? '—' : fmtNum(inv) });
  }

  drawStems(th) {
    const { ctx, w, h } = fitCanvas(this.stems);
    ctx.clearRect(0, 0, w, h);
    const font = this.large ? 14 : 11;
    const sv = (th.singularValues || []).map(num).filter((v) => v !== null);
    const gamma = num(th.gamma);
    const inv = gamma ? 1 / gamma : null;
    const top = Math.max(...sv, inv ?? 0, 1) * 1.1;
    ctx.font = `${font}px system-ui, sans-serif`;
    const ticks = [0, top / 1.1 / 2, top / 1.1];
    const left = Math.ceil(Math.max(...ticks.map((v) => ctx.measureText(fmtNum(v, 2)).width))) + 8;
    const bottom = h - 4;
    const plotH = bottom - 6;
    const Y = (v) => bottom - (v / top) * plotH;
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.strokeStyle = '#999';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, 4);
    ctx.lineTo(left, bottom);
    ctx.lineTo(w - 4, bottom);
    ctx.stroke();
    ctx.fillStyle = '#555';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of ticks) ctx.fillText(fmtNum(v, 2), left - 3, Y(v));
    const n = sv.length;
    const step = (w - left - 10) / Math.max(1, n);
    for (let i = 0; i < n; i++) {
      const x = left + 5 + (i + 0.5) * step;
      const out = inv !== null && sv[i] > inv;
      ctx.strokeStyle = out ? OUTSIDE : POINT;
      ctx.fillStyle = ctx.strokeStyle;
      ctx.lineWidth = Math.max(1, Math.min(3, step / 3));
      ctx.beginPath();
      ctx.moveTo(x, bottom);
      ctx.lineTo(x, Y(sv[i]));
      ctx.stroke();
      if (step > 4) {
        ctx.beginPath();
        ctx.arc(x, Y(sv[i]), Math.min(3, step / 2.5), 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    if (inv !== null) {
      ctx.strokeStyle = OUTSIDE;
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.25;
      ctx.beginPath();
      ctx.moveTo(left, Y(inv));
      ctx.lineTo(w - 4, Y(inv));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = OUTSIDE;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'bottom';
      ctx.fillText(t('spec.line', { r: fmtNum(inv) }), w - 6, Y(inv) - 2);
    }
    this.stems.dataset.values = String(n);
  }
}
