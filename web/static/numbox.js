// Number boxes: text boxes (role spinbutton) where a number is typed in
// the page's language. A box commits its value once the user is done
// with it, on change (Enter, leaving the box) or after a pause in typing,
// never on every keystroke: typing 2000 does not compute T = 2, 20 and
// 200 on the way. A value that is not a number or not allowed is shown as
// a field error in the page's language and is not committed, so it is
// neither sent nor written into the URL.

import { t } from './i18n.js';
import { parseNumber, fmtExact } from './numbers.js';

// COMMIT_PAUSE_MS is how long typing must pause before the box commits.
export const COMMIT_PAUSE_MS = 700;

// rangeText says a field's allowed values and the value given, in the
// page's language: "Gain: must be between 0 and 100 (you entered 101)".
// bounds: {lo, hi, int, minExclusive, training}; value is the text
// given, shown as it was typed (or as the server got it), and fraction
// says that it is not a whole number where one is needed.
export function rangeText(field, { lo, hi, minExclusive = false, training = false }, value, fraction = false) {
  const key = minExclusive ? 'error.field.above' : fraction ? 'error.field.int' : 'error.field.range';
  const text = t(key, { field, lo: bound(lo), hi: bound(hi), value });
  return training ? t('error.field.training', { text }) : text;
}

// bound writes a bound exactly, a large power of ten as one (1e12).
function bound(v) {
  const e = Math.log10(Math.abs(v));
  return e >= 6 && Number.isInteger(e) ? `${v < 0 ? '-' : ''}1e${e}` : fmtExact(v);
}

// checkNumber reads text typed into the box of a field labelled field
// with the given bounds: {value}, or {error} with the sentence to show.
export function checkNumber(field, bounds, text) {
  const typed = String(text).trim();
  if (typed === '') return { error: t('error.field.empty', { field }) };
  const r = parseNumber(typed);
  if (r.error) return { error: t(`error.field.${r.error}`, { field, value: typed }) };
  const v = r.value;
  const { lo, hi, int, minExclusive } = bounds;
  const fraction = !!int && !Number.isInteger(v);
  if (fraction || (minExclusive ? !(v > lo) : v < lo) || v > hi) {
    return { error: rangeText(field, bounds, typed, fraction) };
  }
  return { value: v };
}

// bindNumberBox binds box: check(text) → {value} | {error}; commit(v)
// takes a good value; showError(text) shows a sentence ('' clears it).
// step, when given, is what ArrowUp and ArrowDown add and take away, as
// on a native number box.
export function bindNumberBox(box, { check, commit, showError, step = 0 }) {
  let timer = 0;
  let done = null; // the text last committed or refused
  const run = () => {
    clearTimeout(timer);
    timer = 0;
    done = box.value;
    const r = check(box.value);
    if (r.error) {
      showError(r.error);
      return;
    }
    showError('');
    commit(r.value);
  };
  box.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, COMMIT_PAUSE_MS);
  });
  // change comes on Enter and when the box loses focus; a pause may have
  // committed the same text already.
  box.addEventListener('change', () => {
    if (timer || box.value !== done) run();
  });
  // A good value left behind reads as the page writes it (1.5 as 1,5).
  box.addEventListener('blur', () => {
    const r = check(box.value);
    if (!r.error) box.value = fmtExact(r.value);
  });
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      if (timer || box.value !== done) run();
      return;
    }
    if (!step || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
    const r = check(box.value);
    if (r.error) return;
    e.preventDefault();
    const next = Number((r.value + (e.key === 'ArrowUp' ? step : -step)).toPrecision(12));
    if (check(fmtExact(next)).error) return;
    box.value = fmtExact(next);
    run();
  });
}

// setBounds puts a box's bounds and value where assistive technology
// reads them.
export function setBounds(box, lo, hi) {
  box.setAttribute('aria-valuemin', String(lo));
  box.setAttribute('aria-valuemax', String(hi));
}

// showValue shows v in box, in the page's language, unless the user is
// typing in it.
export function showValue(box, v, force = false) {
  if (force || document.activeElement !== box) box.value = fmtExact(v);
  if (typeof v === 'number') box.setAttribute('aria-valuenow', String(v));
}
