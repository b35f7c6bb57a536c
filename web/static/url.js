// The page's state in its URL: the settings by their protocol names, then
// the page's own state (lang, x, view toggles, pins). Opening the URL
// reproduces the view.

import { MODELS } from './models.js';
import { SCHEMA, SPEC, appliesTo } from './schema.js';

// SETTINGS maps the protocol names, in the protocol's order, to how their
// text is read; both come from the settings schema.
export const SETTINGS = Object.fromEntries(SCHEMA.map((spec) => [spec.name, spec.kind]));

export const MAX_PINS = 7;

// NAME is the form of a tour's name and of a step's id.
const NAME = /^[a-z0-9-]{1,64}$/;

// parseValue reads one setting from query text, or returns undefined when
// the text is not of the setting's kind (enumerations are checked against
// options when given, else against the schema's).
export function parseValue(name, text, options) {
  const kind = SETTINGS[name];
  text = String(text).trim();
  switch (kind) {
    case 'enum':
      if (!(options?.[name] ?? SPEC[name].options).includes(text)) return undefined;
      return text;
    case 'bool':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      return undefined;
    case 'int': {
      if (!/^-?\d+$/.test(text)) return undefined;
      return Number(text);
    }
    case 'uint': {
      if (!/^\d+$/.test(text)) return undefined;
      return Number(text);
    }
    case 'float': {
      if (text === '') return undefined;
      const v = Number(text);
      return Number.isFinite(v) ? v : undefined;
    }
  }
  return undefined;
}

// settingsFromParams reads settings over defaults; names it does not know
// are ignored.
export function settingsFromParams(params, defaults, options) {
  const s = { ...defaults };
  for (const name of Object.keys(SETTINGS)) {
    if (!params.has(name)) continue;
    const v = parseValue(name, params.get(name), options);
    if (v !== undefined) s[name] = v;
  }
  return s;
}

// settingsQuery writes the settings that differ from defaults, in the
// protocol's order. always names settings written even at their default.
export function settingsQuery(s, defaults, always = []) {
  const p = new URLSearchParams();
  for (const name of Object.keys(SETTINGS)) {
    if (s[name] === undefined) continue;
    if (s[name] === defaults[name] && !always.includes(name)) continue;
    p.set(name, String(s[name]));
  }
  return p;
}

// pinQuery is a pin's settings as the query text carried by pin=…; it
// always names the cell, so it is never empty.
export function pinQuery(s, defaults) {
  return settingsQuery(s, defaults, ['cell']).toString();
}

// LAB holds the training lab's own settings (protocol names) and their
// defaults; the model itself comes from the settings column. The maxima
// of batch and iterations are the server's default bounds until its own
// arrive (applyTrainLimits in lab.js).
export const LAB = {
  task: { kind: 'enum', values: ['recall', 'adding', 'copy'], def: 'recall' },
  optimizer: { kind: 'enum', values: ['adam', 'sgd'], def: 'adam' },
  lr: { kind: 'float', min: 1e-6, max: 10, def: 0.003 },
  batch: { kind: 'int', min: 1, max: 128, def: 32 },
  iterations: { kind: 'int', min: 1, max: 20000, def: 1000 },
};
// LAB_MODEL is what the training lab changes in the model settings when
// it is opened on the page's defaults (the profile's T = 100 and forget
// bias 0, on which no model learns recall): 40 steps, 8 keys, a gain
// just inside the vanishing regime, and a forget bias that keeps the
// gated cells' memory open. On these, with the lab's defaults, Compare
// shows the RNN at chance and the LSTM and GRU learning;
// engine.DefaultTrainSettings holds the same numbers.
export const LAB_MODEL = { T: 40, K: 8, gain: 0.8, forgetBias: 3 };
// CELLS are the models the training lab can compare, in display order.
export const CELLS = MODELS.map((m) => m.cell);
export const CHARTS = ['accuracy', 'grad', 'horizon', 'profile'];

// parseLab reads one lab setting from query text, or undefined.
export function parseLab(name, text) {
  const spec = LAB[name];
  text = String(text).trim();
  if (spec.kind === 'enum') return spec.values.includes(text) ? text : undefined;
  if (text === '') return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || v < spec.min || v > spec.max) return undefined;
  if (spec.kind === 'int' && !Number.isInteger(v)) return undefined;
  return v;
}

export function labDefaults() {
  const lab = { cells: ['rnn'] };
  for (const [name, spec] of Object.entries(LAB)) lab[name] = spec.def;
  return lab;
}

// viewDefaults are the defaults of the views' own parameters: a view's
// definition (views.js) may list, as params, names it keeps in the page
// state and the URL, each with its values, the first the default.
export function viewDefaults(views) {
  const out = {};
  for (const v of views) {
    for (const [name, values] of Object.entries(v.params || {})) out[name] = values[0];
  }
  return out;
}

// readPage reads the whole page state from a query string; views are
// the views' definitions (views.js), the first the default tab.
export function readPage(search, defaults, options, presetNames, views) {
  const params = new URLSearchParams(search);
  const tabs = views.map((v) => v.name);
  const lab = labDefaults();
  for (const name of Object.keys(LAB)) {
    if (!params.has(name)) continue;
    const v = parseLab(name, params.get(name));
    if (v !== undefined) lab[name] = v;
  }
  // Without a list, the lab trains the cell of the settings column.
  const settings = settingsFromParams(params, defaults, options);
  lab.cells = [settings.cell];
  if (params.has('cells')) {
    const cells = [...new Set(params.get('cells').split(','))].filter((c) => CELLS.includes(c));
    if (cells.length) lab.cells = CELLS.filter((c) => cells.includes(c));
  }
  const out = Number(params.get('outputStep'));
  const view = {
    lang: params.get('lang') === 'es' ? 'es' : 'en',
    x: params.get('x') === 'back' ? 'back' : 'step',
    states: params.get('states') === '1',
    jac: params.get('jac') === '1',
    large: params.get('large') === '1',
    present: params.get('present') === '1',
    embed: params.get('embed') === '1',
    tab: tabs.includes(params.get('tab')) ? params.get('tab') : tabs[0],
    // A step of the built-in tour, or (with a tour) of that tour's.
    preset: (params.has('tour') ? NAME.test(params.get('preset')) : presetNames.includes(params.get('preset'))) ? params.get('preset') : '',
    tour: NAME.test(params.get('tour')) && params.get('tour') !== 'builtin' ? params.get('tour') : '',
    // A ?tour= that cannot name a tour, for the page to say so.
    badTour: params.has('tour') && !NAME.test(params.get('tour')) ? params.get('tour').slice(0, 80) : '',
    spectrum: params.get('spectrum') !== '0',
    chart: CHARTS.includes(params.get('chart')) ? params.get('chart') : 'accuracy',
    outputStep: Number.isInteger(out) && out >= 1 ? out : 0, // 0: the middle
    lab,
  };
  for (const v of views) {
    for (const [name, values] of Object.entries(v.params || {})) {
      view[name] = values.includes(params.get(name)) ? params.get(name) : values[0];
    }
  }
  const pins = params.getAll('pin').slice(0, MAX_PINS)
    .map((q) => settingsFromParams(new URLSearchParams(q), defaults, options));
  return { settings, view, pins };
}

// pageQuery writes the whole page state; only what differs from the
// defaults is written.
export function pageQuery(settings, view, pins, defaults, views) {
  const p = new URLSearchParams();
  if (view.tab && view.tab !== views[0].name) p.set('tab', view.tab);
  if (view.tour) p.set('tour', view.tour);
  // A step of a tour opened from a file has no address of its own.
  if (view.preset && !view.fileTour) p.set('preset', view.preset);
  for (const [k, v] of settingsQuery(settings, defaults)) p.set(k, v);
  if (view.lang !== 'en') p.set('lang', view.lang);
  if (view.x !== 'step') p.set('x', view.x);
  if (view.states) p.set('states', '1');
  if (view.jac) p.set('jac', '1');
  // Present mode turns large text on by itself; its URL does not say so.
  if (view.large && !view.present) p.set('large', '1');
  if (view.present) p.set('present', '1');
  if (view.embed) p.set('embed', '1');
  if (view.spectrum === false) p.set('spectrum', '0');
  if (view.outputStep) p.set('outputStep', String(view.outputStep));
  if (view.lab) {
    for (const [name, spec] of Object.entries(LAB)) {
      if (view.lab[name] !== spec.def) p.set(name, String(view.lab[name]));
    }
    const cells = view.lab.cells.join(',');
    if (cells !== settings.cell) p.set('cells', cells);
  }
  if (view.chart && view.chart !== 'accuracy') p.set('chart', view.chart);
  for (const v of views) {
    for (const [name, values] of Object.entries(v.params || {})) {
      if (view[name] !== undefined && view[name] !== values[0]) p.set(name, view[name]);
    }
  }
  for (const pin of pins) p.append('pin', pinQuery(pin.settings, defaults));
  return p.toString();
}

// exportURL is the server-rendered image (or CSV) of exactly this view:
// every setting, the pins with their legend names, the x axis and the
// language. The animated GIF is the size of a slide's picture, so that
// its frames stay small.
export function exportURL(format, settings, view, pins, defaults, w = 1600, h = 900) {
  if (format === 'gif') [w, h] = [960, 540];
  // A setting that does not apply to the model is left out: a gated cell
  // has no activation, and the server refuses act=linear for one.
  const p = withoutUnused(settingsQuery(settings, defaults, Object.keys(SETTINGS)), settings.cell);
  for (const pin of pins) {
    const q = withoutUnused(settingsQuery(pin.settings, defaults, ['cell']), pin.settings.cell);
    if (pin.label) q.set('label', pin.label);
    p.append('pin', q.toString());
  }
  p.set('x', view.x);
  p.set('lang', view.lang);
  if (format !== 'csv') {
    p.set('w', String(w));
    p.set('h', String(h));
  }
  return `/api/plot.${format}?${p}`;
}

// withoutUnused deletes from query p the settings that do not apply to
// the model cell.
function withoutUnused(p, cell) {
  for (const name of Object.keys(SETTINGS)) if (!appliesTo(name, cell)) p.delete(name);
  return p;
}

// sameSettings reports whether two settings are equal in every name.
export function sameSettings(a, b) {
  return Object.keys(SETTINGS).every((n) => a[n] === b[n]);
}
