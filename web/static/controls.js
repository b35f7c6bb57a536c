// The settings form: fills the controls from the settings, reads them
// back when the user moves one, and puts server errors next to the
// control they name.

import { t } from './i18n.js';
import { model } from './models.js';
import { SCHEMA, appliesTo, active } from './schema.js';
import { bindNumberBox, checkNumber, setBounds, showValue } from './numbox.js';

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

// A setting's control is the element whose id is its name: a select for
// an enumeration (options from the schema), a checkbox for a boolean, and
// for a number a number box or a slider paired with a number box
// '<name>-num'. Its bounds and step come from the schema, and from the
// server's limits for the bounds the schema marks as policy. What follows
// is what the schema cannot say: how sliders are drawn.
const LOG_SLIDERS = ['T'];
const SLIDER_MAX = { gain: 5 };

// advancedSettings names the settings whose controls sit in the form's
// Advanced section.
export function advancedSettings() {
  return SCHEMA.map((spec) => spec.name).filter((name) => $(name) && $('advanced').contains($(name)));
}

const isNumber = (spec) => spec.kind === 'int' || spec.kind === 'uint' || spec.kind === 'float';

// Controls binds the form. onChange(name, value) is called for each
// change the user makes, also while a slider is dragged, and for a
// number box once the user is done typing a value the setting takes.
export class Controls {
  // cells(), when given, names the models besides the Cell control's that
  // the settings act on (the training lab's runs).
  constructor({ limits, onChange, cells }) {
    this.limits = { ...limits };
    this.onChange = onChange;
    this.cells = cells || (() => []);
    this.fillOptions();
    this.applyLimits(limits);
    this.bind();
  }

  fillOptions() {
    for (const spec of SCHEMA) {
      const sel = $(spec.name);
      if (spec.kind !== 'enum' || !sel) continue;
      sel.replaceChildren(...spec.options.map((v) => {
        const o = document.createElement('option');
        o.value = v;
        o.dataset.i18n = `opt.${spec.name}.${v}`;
        o.textContent = t(o.dataset.i18n);
        return o;
      }));
    }
  }

  // max is the largest value of a number setting under the limits.
  max(spec) {
    return spec.limit ? this.limits[spec.limit] ?? spec.max : spec.max;
  }

  applyLimits(limits) {
    Object.assign(this.limits, limits);
    for (const spec of SCHEMA) {
      const el = $(spec.name);
      if (!isNumber(spec) || !el) continue;
      const box = el.type === 'range' ? $(`${spec.name}-num`) : el;
      setBounds(box, spec.min, this.max(spec));
      if (box === el) continue;
      if (LOG_SLIDERS.includes(spec.name)) {
        el.min = '0';
        el.max = String(LOG_STEPS);
        el.step = '1';
      } else {
        el.min = String(spec.min);
        el.max = String(Math.min(this.max(spec), SLIDER_MAX[spec.name] ?? Infinity));
        el.step = spec.step ? String(spec.step) : 'any';
      }
    }
  }

  // bounds are what a number setting's box accepts, under the limits.
  bounds(spec) {
    return { lo: spec.min, hi: this.max(spec), int: spec.kind !== 'float', minExclusive: !!spec.minExclusive };
  }

  // bindBox binds the number box of a setting: it commits what the user
  // typed once they are done typing, and only a value the setting takes.
  bindBox(spec, box, after) {
    const name = spec.name;
    bindNumberBox(box, {
      check: (text) => checkNumber(t(name), this.bounds(spec), text),
      commit: (v) => {
        box.setAttribute('aria-valuenow', String(v));
        if (after) after(v);
        this.onChange(name, v);
      },
      showError: (text) => this.showError(name, text),
      step: spec.step || (spec.kind === 'float' ? 0.1 : 1),
    });
  }

  bind() {
    for (const spec of SCHEMA) {
      const name = spec.name;
      const el = $(name);
      if (!el) continue;
      if (spec.kind === 'enum') {
        el.addEventListener('change', (e) => this.onChange(name, e.target.value));
      } else if (spec.kind === 'bool') {
        el.addEventListener('change', (e) => this.onChange(name, e.target.checked));
      } else if (el.type === 'range') {
        this.bindSlider(spec, el, $(`${name}-num`));
      } else {
        this.bindBox(spec, el);
      }
    }
    $('forgetBias-one').addEventListener('click', () => {
      showValue($('forgetBias'), 1, true);
      this.showError('forgetBias', '');
      this.onChange('forgetBias', 1);
    });
  }

  // bindSlider: a slider reports while dragged (input) and once released
  // (change); the number box beside it accepts exact values.
  bindSlider(spec, slider, box) {
    const name = spec.name;
    slider.addEventListener('input', (e) => {
      const pos = Number(e.target.value);
      const v = LOG_SLIDERS.includes(name) ? posToT(pos, this.max(spec)) : pos;
      showValue(box, v, true);
      this.showError(name, '');
      if (LOG_SLIDERS.includes(name)) e.target.setAttribute('aria-valuetext', String(v));
      this.onChange(name, v);
    });
    this.bindBox(spec, box, (v) => this.setSlider(spec, v));
  }

  setSlider(spec, v) {
    const el = $(spec.name);
    if (LOG_SLIDERS.includes(spec.name)) {
      el.value = String(tToPos(v, this.max(spec)));
      el.setAttribute('aria-valuetext', String(v));
    } else {
      el.value = String(Math.min(v, SLIDER_MAX[spec.name] ?? Infinity));
    }
  }

  // set shows settings s in the controls.
  set(s) {
    for (const spec of SCHEMA) {
      const el = $(spec.name);
      if (!el) continue;
      const v = s[spec.name];
      if (spec.kind === 'bool') {
        el.checked = !!v;
      } else if (isNumber(spec)) {
        if (el.type === 'range') this.setSlider(spec, v);
        const box = this.box(spec);
        // A value refused by the page's check gives way to the one set.
        if (document.activeElement !== box && this.pageError(spec.name)) this.showError(spec.name, '');
        showValue(box, v);
      } else {
        el.value = String(v);
      }
    }
    this.updateEnabled(s);
  }

  // box is the number box of a number setting.
  box(spec) {
    const el = $(spec.name);
    return el.type === 'range' ? $(`${spec.name}-num`) : el;
  }

  // pageError reports whether the field shows an error of the page's own
  // check (not the server's).
  pageError(name) {
    const el = $(`err-${name}`);
    return !!el && !el.hidden && el.dataset.server !== '1';
  }

  // relabel writes the number boxes in the page's language after a
  // switch: a value the page refused stays as typed, its error in the new
  // language; any other box shows the setting's value.
  relabel(s) {
    for (const spec of SCHEMA) {
      if (!isNumber(spec) || !$(spec.name)) continue;
      const box = this.box(spec);
      if (this.pageError(spec.name)) {
        this.showError(spec.name, checkNumber(t(spec.name), this.bounds(spec), box.value).error ?? '');
      } else {
        showValue(box, s[spec.name], true);
      }
    }
  }

  // updateEnabled disables what does not act on the current settings, as
  // the schema says: a setting that does not apply to the model, or that
  // another setting makes idle. A field of its own ('<name>-field') is
  // hidden when the model lacks the setting; a note ('<name>-note') says
  // why a control is disabled. A setting that acts on any of the models
  // in use (the training lab's runs too) is shown and enabled.
  updateEnabled(s) {
    const cells = [s.cell, ...this.cells()];
    for (const spec of SCHEMA) {
      const on = cells.some((cell) => active(spec.name, { ...s, cell }));
      const field = $(`${spec.name}-field`);
      if (field) field.hidden = !cells.some((cell) => appliesTo(spec.name, cell));
      for (const c of document.querySelectorAll(`[data-field="${spec.name}"]`)) c.disabled = !on;
      const note = $(`${spec.name}-note`);
      if (note) note.hidden = on;
    }
    $('jac').disabled = !model(s.cell).spectrum;
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
