// The readout panel: the theory next to the measurement.

import { t } from './i18n.js';
import { fmtNum } from './plot.js';

const $ = (id) => document.getElementById(id);

function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

// ratio is ‖∂E/∂s_1‖/‖∂E/∂s_T‖, or — when either
// end is not a positive finite number.
function ratio(series) {
  if (!series || series.length === 0) return '—';
  const first = num(series[0]);
  const last = num(series[series.length - 1]);
  if (first === null || last === null || last === 0) return '—';
  return fmtNum(first / last);
}

// outcome says what the error signal did in this run, from its two ends:
// vanishes (‖∂E/∂s_1‖ under 1e-3 of ‖∂E/∂s_T‖), explodes (over 1e3 times
// it, or not finite), or keeps its size. The bound only says what may
// happen; this is what did.
export function outcome(series) {
  if (!series || series.length === 0) return null;
  const first = series[0];
  const last = series[series.length - 1];
  if (num(first) === null || num(last) === null) return { kind: 'overflow', first };
  if (last === 0) return null;
  const r = first / last;
  if (!Number.isFinite(r)) return { kind: 'explodes', r };
  if (r < 1e-3) return { kind: 'vanishes', r };
  if (r > 1e3) return { kind: 'explodes', r };
  return { kind: 'keeps', r };
}

// outcomeText is the outcome in the page's language.
// A number's exponent keeps its sign (a non-breaking hyphen): "8.74e-" at
// the end of a line would read as another number.
export function outcomeText(o) {
  if (!o) return '';
  const nb = (v) => fmtNum(v).replace('-', '\u2011');
  if (o.kind === 'overflow') return t('outcome.overflow', { v: nb(o.first) });
  return t(`outcome.${o.kind}`, { r: nb(o.r) });
}

// showRegime writes the bound's verdict, neutral, and what the curve did,
// coloured by what it did: the warning colour only when it explodes.
function showRegime(res) {
  const dd = $('ro-regime');
  const th = res.theory;
  const o = outcome(res.profile.dE_ds);
  const parts = [];
  if (th) {
    const bound = document.createElement('span');
    bound.className = 'bound';
    bound.textContent = t(`regime.${th.regime}`);
    parts.push(bound);
  }
  if (o) {
    const what = document.createElement('span');
    what.className = 'outcome';
    what.textContent = outcomeText(o);
    parts.push(what);
  }
  if (parts.length === 0) parts.push('—');
  dd.replaceChildren(...parts);
  dd.dataset.regime = th ? th.regime : '';
  dd.dataset.outcome = o ? (o.kind === 'overflow' ? 'explodes' : o.kind) : '';
}

// showReadout fills the panel from a profile message.
export function showReadout(res) {
  const th = res.theory;
  const set = (id, text) => { $(id).textContent = text; };
  if (th) {
    const gamma = num(th.gamma);
    const sigma = num(th.sigmaMax);
    set('ro-sigma', fmtNum(th.sigmaMax));
    set('ro-gamma', fmtNum(th.gamma));
    set('ro-gs', gamma !== null && sigma !== null ? fmtNum(gamma * sigma) : '—');
    set('ro-rho', fmtNum(th.spectralRadius));
  } else {
    for (const id of ['ro-sigma', 'ro-gamma', 'ro-gs', 'ro-rho']) set(id, '—');
  }
  showRegime(res);
  $('ro-note').hidden = !!th;
  set('ro-loss', fmtNum(res.loss));
  set('ro-grad', fmtNum(res.gradNorm));
  set('ro-gradc', fmtNum(res.gradNormClipped));
  set('ro-ratio', ratio(res.profile.dE_ds));
  // How the error signal travels back, by model.
  const gs = th && num(th.gamma) !== null && num(th.sigmaMax) !== null ? fmtNum(th.gamma * th.sigmaMax) : '—';
  set('ro-path', t(`ro.path.${res.config.cell}`, { gs }));
  set('ro-time', t('ro.ms', { v: fmtNum(res.elapsedMs) }));
}
