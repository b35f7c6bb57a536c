// The settings form: fills the controls from the settings, reads them
// back when the user moves one, and puts server errors next to the
// control they name.

import { t } from './i18n.js';
import { model } from './models.js';

const $ = (id) => document.getElementById(id);

// Sequence length uses a logarithmic slider: equal distances are equal
// ratios, so 10→20 is as easy to reach as 1000→2000.
const LOG_STEPS = 400;

export function tToPos(T, maxT) {
  if (T <= 1) return 0;
  return Math.min(LOG_STEPS, Math.round((LOG_STEPS * Math.log(T)) / Math.log(maxT)));
}

export function posToT(pos, maxT) {
  return Math.max(1, Math.min(maxT, Math.round(Math.exp((pos / LOG_STEPS) * Math.log(maxT)))));
}

const SELECTS = ['cell', 'act', 'init', 'clip', 'loss'];
const NUMBERS = ['forgetBias', 'threshold', 'seed', 'D', 'K'];
const GAIN_SLIDER_MAX = 5;

// Controls binds the form. onChange(name, value) is called for each
// change the user makes, also while a slider is dragged.
export class Controls {
  constructor({ options, limits, onChange }) {
    this.options = options;
    this.limits = { ...limits };
    this.onChange = onChange;
    this.fillOptions();
    this.applyLimits(limits);
    this.bind();
  }

  fillOptions() {
    for (const name of SELECTS) {
      const sel = $(name);
      sel.replaceChildren(...this.options[name].map((v) => {
        const o = document.createElement('option');
        o.value = v;
        o.dataset.i18n = `opt.${name}.${v}`;
        o.textContent = t(o.dataset.i18n);
        return o;
      }));
    }
  }

  applyLimits(limits) {
    Object.assign(this.limits, limits);
    $('T-num').max = String(this.limits.T);
    $('H').max = String(this.limits.H);
    $('H-num').max = String(this.limits.H);
    $('D').max = String(this.limits.D);
    $('K').max = String(this.limits.K);
  }

  bind() {
    for (const name of SELECTS) {
      $(name).addEventListener('change', (e) => this.onChange(name, e.target.value));
    }
    $('bidir').addEventListener('change', (e) => this.onChange('bidir', e.target.checked));
    for (const name of NUMBERS) {
      const el = $(name);
      const kind = name === 'seed' || name === 'D' || name === 'K' ? 'int' : 'float';
      el.addEventListener('input', () => this.readNumber(name, el, kind));
    }
    $('forgetBias-one').addEventListener('click', () => {
      $('forgetBias').value = '1';
      this.onChange('forgetBias', 1);
    });

    // Sliders report while dragged (input) and once released (change);
    // the number box beside each one accepts exact values.
    $('T').addEventListener('input', (e) => {
      const T = posToT(Number(e.target.value), this.limits.T);
      $('T-num').value = String(T);
      e.target.setAttribute('aria-valuetext', String(T));
      this.onChange('T', T);
    });
    $('T-num').addEventListener('input', (e) => {
      const T = this.readNumber('T', e.target, 'int');
      if (T !== undefined) this.setSliderT(T);
    });
    $('H').addEventListener('input', (e) => {
      $('H-num').value = e.target.value;
      this.onChange('H', Number(e.target.value));
    });
    $('H-num').addEventListener('input', (e) => {
      const H = this.readNumber('H', e.target, 'int');
      if (H !== undefined) $('H').value = String(H);
    });
    $('gain').addEventListener('input', (e) => {
      $('gain-num').value = e.target.value;
      this.onChange('gain', Number(e.target.value));
    });
    $('gain-num').addEventListener('input', (e) => {
      const g = this.readNumber('gain', e.target, 'float');
      if (g !== undefined) $('gain').value = String(Math.min(g, GAIN_SLIDER_MAX));
    });
  }

  // readNumber reads a number box; text that is not a number is marked
  // next to the control and not sent.
  readNumber(name, el, kind) {
    const text = el.value.trim();
    const v = Number(text);
    const ok = text !== '' && Number.isFinite(v) && (kind !== 'int' || Number.isInteger(v));
    if (!ok) {
      this.showError(name, t('error.number'));
      return undefined;
    }
    this.showError(name, '');
    this.onChange(name, v);
    return v;
  }

  setSliderT(T) {
    const el = $('T');
    el.value = String(tToPos(T, this.limits.T));
    el.setAttribute('aria-valuetext', String(T));
  }

  // set shows settings s in the controls.
  set(s) {
    for (const name of SELECTS) $(name).value = s[name];
    $('bidir').checked = !!s.bidir;
    for (const name of NUMBERS) {
      if (document.activeElement !== $(name)) $(name).value = String(s[name]);
    }
    this.setSliderT(s.T);
    if (document.activeElement !== $('T-num')) $('T-num').value = String(s.T);
    $('H').value = String(s.H);
    if (document.activeElement !== $('H-num')) $('H-num').value = String(s.H);
    $('gain').value = String(Math.min(s.gain, GAIN_SLIDER_MAX));
    if (document.activeElement !== $('gain-num')) $('gain-num').value = String(s.gain);
    this.updateEnabled(s);
  }

  // updateEnabled disables what does not apply to the current settings.
  updateEnabled(s) {
    const m = model(s.cell);
    $('act').disabled = !m.activation;
    $('act-note').hidden = !!m.activation;
    $('forgetBias-field').hidden = !m.forgetBias;
    $('jac').disabled = !m.spectrum;
    const noClip = s.clip === 'none';
    $('threshold').disabled = noClip;
    $('threshold-note').hidden = !noClip;
  }

  // showError puts message next to field's control ('' clears it).
  // fromServer marks messages that the next good answer clears.
  showError(field, message, fromServer = false) {
    const el = $(`err-${field}`);
    if (!el) return false;
    el.dataset.server = fromServer && message ? '1' : '';
    el.textContent = message;
    el.hidden = !message;
    const controls = document.querySelectorAll(`[data-field="${field}"]`);
    for (const c of controls) {
      if (message) {
        c.setAttribute('aria-invalid', 'true');
        c.setAttribute('aria-errormessage', el.id);
      } else {
        c.removeAttribute('aria-invalid');
        c.removeAttribute('aria-errormessage');
      }
    }
    if (message && field !== 'cell' && $('advanced').contains(el)) $('advanced').open = true;
    return true;
  }

  clearServerErrors() {
    for (const el of document.querySelectorAll('.field-error')) {
      if (el.dataset.server === '1') this.showError(el.id.slice(4), '');
    }
  }
}
