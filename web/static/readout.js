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
    set('ro-regime', t(`regime.${th.regime}`));
    $('ro-regime').dataset.regime = th.regime;
    set('ro-rho', fmtNum(th.spectralRadius));
  } else {
    for (const id of ['ro-sigma', 'ro-gamma', 'ro-gs', 'ro-regime', 'ro-rho']) set(id, '—');
    $('ro-regime').dataset.regime = '';
  }
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
