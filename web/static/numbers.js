// Numbers as the page's language writes and reads them: a decimal point
// in English, a decimal comma in Spanish, and no thousands separator in
// either (1000, 2000), so that a tick, a readout and a number box say a
// number the same way. The URL and the websocket carry plain JSON
// numbers; only what a person reads or types goes through here.

import { lang } from './i18n.js';

const LOCALES = { en: 'en-US', es: 'es-ES' };
const formats = new Map();

// nf is an Intl.NumberFormat of the page's language, without grouping.
function nf(options) {
  const key = `${lang()} ${JSON.stringify(options)}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(LOCALES[lang()] ?? LOCALES.en, { useGrouping: false, ...options });
    formats.set(key, f);
  }
  return f;
}

// decimalMark is the page language's decimal separator.
export function decimalMark() {
  return lang() === 'es' ? ',' : '.';
}

// fmtNum writes a number with about three significant digits (digits);
// the strings that stand for non-finite numbers in JSON pass through.
export function fmtNum(v, digits = 3) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v === 'Infinity' ? '∞' : v === '-Infinity' ? '−∞' : v;
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  const f = nf({ maximumSignificantDigits: digits });
  if (a >= 1e-3 && a < 1e5) return f.format(v);
  const [m, e] = v.toExponential(digits - 1).split('e');
  return `${f.format(Number(m))}e${e.replace('+', '')}`;
}

// fmtTick writes an axis tick: the round numbers an axis chooses, in
// full, without the float noise of their sums (0.30000000000000004).
export function fmtTick(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e9)) return fmtNum(v, 6);
  return nf({ maximumSignificantDigits: 10 }).format(v);
}

// tickValues is a uPlot axis's values: every tick by fmtTick.
export const tickValues = (u, splits) => splits.map(fmtTick);

// STEP_INCRS are the tick spacings of an axis of steps: whole numbers
// only, so a short sequence (T = 3) is marked 1, 2, 3 and not 1.2, 1.4.
export const STEP_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

// fmtExact writes a setting's value for a number box: every digit that
// reads back exactly, with the language's decimal mark.
export function fmtExact(v) {
  if (typeof v !== 'number') return String(v ?? '');
  return String(v).replace('.', decimalMark());
}

// pow10Label writes 10^e for an axis tick: 1e-12, 0.01, 1, 100, 1e3.
// (Superscript digits would read better, but many fonts lack ⁴–⁹.)
export function pow10Label(e) {
  if (e >= -2 && e <= 2) return nf({ maximumSignificantDigits: 3 }).format(10 ** e);
  return `1e${e}`;
}

// parseNumber reads what a person typed into a number box, in the page's
// language: {value} or {error}, where error is 'number' (not a number)
// or 'separator' (a mark that could be a decimal or a thousands
// separator, which is refused rather than guessed). English takes a
// decimal point; Spanish takes a decimal comma or a point, but not either
// before exactly three digits ("1.500" and "1,500" may mean 1500). Either
// takes an exponent (1e-3) and a leading sign, − included.
export function parseNumber(text) {
  const s = String(text).trim().replace(/^\u2212/, '-');
  const m = /^([+-]?)(\d*)(?:([.,])(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === '' && !m[4])) {
    // Several marks (1.000,5 or 1,000,000) are separators, not decimals.
    return { error: /^[+-]?\d{1,3}([.,]\d{3})+([.,]\d*)?$/.test(s) ? 'separator' : 'number' };
  }
  const [, sign, int, mark, frac = '', exp] = m;
  if (mark === ',' && lang() !== 'es') return { error: 'separator' };
  // Spanish writes 1.500 (Spain) and 1,500 (Mexico) for fifteen hundred.
  if (lang() === 'es' && frac.length === 3 && int !== '' && !/^0+$/.test(int) && exp === undefined) return { error: 'separator' };
  const value = Number(`${sign}${int || '0'}.${frac || '0'}${exp !== undefined ? `e${exp}` : ''}`);
  return Number.isFinite(value) ? { value } : { error: 'number' };
}
