// Heatmaps on plain canvases: a log colour scale on viridis, which reads
// in grey and for colour-blind eyes, and a legend bar labelled in decades.

import { pow10Label } from './plot.js';

// Special cells: a value a log scale cannot place.
export const SPECIAL = {
  nonFinite: [192, 0, 0], // Inf or NaN
  zero: [0, 0, 0], // exactly 0 (underflow)
};

// viridis approximates matplotlib's viridis by a polynomial per channel
// (Matt Zucker's fit, public domain): t in [0, 1] → [r, g, b] 0..255.
const C = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

// LUT holds 256 viridis colours, so a cell costs a lookup.
const LUT = new Uint8ClampedArray(256 * 3);
for (let i = 0; i < 256; i++) {
  const t = i / 255;
  for (let ch = 0; ch < 3; ch++) {
    let v = C[6][ch];
    for (let j = 5; j >= 0; j--) v = C[j][ch] + t * v;
    LUT[i * 3 + ch] = Math.round(Math.max(0, Math.min(1, v)) * 255);
  }
}

export function viridis(t) {
  const i = Math.max(0, Math.min(255, Math.round(t * 255))) * 3;
  return [LUT[i], LUT[i + 1], LUT[i + 2]];
}

// colorOf maps a value to a colour on a log scale from 10^lo to 10^hi
// (clamped), or a special colour; null means a blank cell.
export function colorOf(v, lo, hi) {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) return SPECIAL.nonFinite;
  if (v <= 0) return SPECIAL.zero;
  return viridis((Math.log10(v) - lo) / (hi - lo));
}

// logExtent is the range in whole decades of the positive finite values.
export function logExtent(rows, span = 40) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of rows) {
    for (const v of row) {
      if (typeof v !== 'number' || !(v > 0) || v === Infinity) continue;
      const e = Math.log10(v);
      if (e < lo) lo = e;
      if (e > hi) hi = e;
    }
  }
  if (lo === Infinity) return [-1, 1];
  hi = Math.ceil(hi);
  lo = Math.max(Math.floor(lo), hi - span);
  if (hi - lo < 1) lo = hi - 1;
  return [lo, hi];
}

// fitCanvas sizes a canvas's backing store to its box at the device's
// pixel ratio and returns the box size in CSS pixels.
export function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.floor(canvas.clientWidth));
  const h = Math.max(1, Math.floor(canvas.clientHeight));
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, h };
}

// drawLegend draws a horizontal colour bar from 10^lo to 10^hi with
// decade labels, and the special colours after it. specials is a list of
// [colour, label]; lowLabel/highLabel mark a clamped end ('≤', '≥').
export function drawLegend(canvas, { lo, hi, title, specials = [], clampLow = false, clampHigh = false, large = false }) {
  const { ctx, w, h } = fitCanvas(canvas);
  ctx.clearRect(0, 0, w, h);
  const font = large ? 16 : 12;
  ctx.font = `${font}px system-ui, sans-serif`;
  ctx.fillStyle = '#222';
  ctx.textBaseline = 'top';
  let x = 4;
  if (title) {
    ctx.textAlign = 'left';
    ctx.fillText(title, x, 2);
    x += ctx.measureText(title).width + 10;
  }
  let specialsW = 0;
  for (const [, label] of specials) specialsW += 22 + ctx.measureText(label).width + 12;
  const barW = Math.max(80, Math.min(420, w - x - specialsW - 20));
  const barH = Math.max(8, Math.round(font * 0.9));
  const img = ctx.createImageData(Math.max(1, Math.round(barW)), 1);
  for (let i = 0; i < img.width; i++) {
    const [r, g, b] = viridis(i / (img.width - 1 || 1));
    img.data.set([r, g, b, 255], i * 4);
  }
  // Draw the bar through a 1-pixel-high bitmap scaled up.
  const tmp = document.createElement('canvas');
  tmp.width = img.width;
  tmp.height = 1;
  tmp.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, x, 3, barW, barH);
  ctx.strokeStyle = '#666';
  ctx.lineWidth = 1;
  ctx.strokeRect(x + 0.5, 3.5, barW - 1, barH - 1);
  const span = hi - lo;
  const room = Math.max(2, Math.floor(barW / (font * 4.4)));
  const stride = [1, 2, 3, 5, 10, 20, 25, 50, 100].find((s) => span / s <= room) ?? 200;
  ctx.textAlign = 'center';
  const ticks = [];
  for (let e = Math.ceil(lo / stride) * stride; e <= hi; e += stride) ticks.push(e);
  // The ends say where the scale is clamped, when there is room for them.
  const gap = (font * 4.4 * span) / barW;
  if (clampLow && ticks[0] !== lo && ticks[0] - lo >= gap) ticks.unshift(lo);
  if (clampHigh && ticks[ticks.length - 1] !== hi && hi - ticks[ticks.length - 1] >= gap) ticks.push(hi);
  for (const e of ticks) {
    const px = x + ((e - lo) / span) * barW;
    ctx.fillRect(Math.round(px), 3 + barH, 1, 3);
    let label = pow10Label(e);
    if (e === lo && clampLow) label = `≤${label}`;
    if (e === hi && clampHigh) label = `≥${label}`;
    const half = ctx.measureText(label).width / 2;
    ctx.fillText(label, Math.min(Math.max(px, x + half), x + barW - half), 7 + barH);
  }
  x += barW + 20;
  ctx.textAlign = 'left';
  for (const [color, label] of specials) {
    ctx.fillStyle = `rgb(${color.join(',')})`;
    ctx.fillRect(x, 3, 16, barH);
    ctx.strokeStyle = '#666';
    ctx.strokeRect(x + 0.5, 3.5, 15, barH - 1);
    ctx.fillStyle = '#222';
    ctx.fillText(label, x + 20, 2);
    x += 22 + ctx.measureText(label).width + 12;
  }
}
