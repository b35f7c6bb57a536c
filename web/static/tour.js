// The guided tour: a tour file (docs/tour.md) of steps, each setting the
// controls and saying what to notice. The built-in tour comes in the
// page's bootstrap block; ?tour=NAME loads /api/tours/NAME, and "Open
// tour file…" one from the user's disk, checked here by the rules the
// server checks its files by (internal/api/tours.go).
//
// The API other parts of the page use:
//   tourSteps()      the steps of the tour shown, in order
//   currentStep()    the index of the step applied, or -1
//   goToStep(i)      apply step i (as choosing it in the select does)
//   event 'tour-step' on document, detail {index, count, step}, after a
//                    step is applied, and with index -1 when none is
// app.js gives the applying function (setApplier) and calls noStep when
// the user leaves the tour.

import { t, lang, addStrings } from './i18n.js';
import { SPEC } from './schema.js';

const boot = JSON.parse(document.getElementById('bootstrap').textContent);

let tour = boot.tour;
let index = -1;
let applier = null;

export function tourSteps() { return tour.steps; }
export function currentStep() { return index; }
export function currentTour() { return tour; }

// setApplier sets what applying a step does: apply(step, index).
export function setApplier(fn) { applier = fn; }

export function goToStep(i) {
  const step = tour.steps[i];
  if (!step) return false;
  index = i;
  applier?.(step, i);
  announce();
  return true;
}

// noStep leaves the tour: no step is applied.
export function noStep() {
  if (index === -1) return;
  index = -1;
  announce();
}

function announce() {
  document.dispatchEvent(new CustomEvent('tour-step', {
    detail: { index, count: tour.steps.length, step: tour.steps[index] ?? null },
  }));
}

// setTour replaces the tour (already checked); no step is applied.
export function setTour(next) {
  tour = next;
  index = -1;
  announce();
}

export function builtinTour() { return boot.tour; }

export function stepIndex(id) { return tour.steps.findIndex((s) => s.id === id); }

// say returns a tour text ({en, es}) in the page's language.
export function say(text) { return text?.[lang()] ?? text?.en ?? ''; }

// ---- checking a tour file ----

const NAME = /^[a-z0-9-]{1,64}$/;
const TABS = ['profile', 'lab', 'bidir', 'map', 'phase', 'lang'];
const STEP_FIELDS = ['id', 'title', 'text', 'settings', 'tab', 'pins', 'view', 'lab', 'langlab', 'train', 'sequence', 'predict', 'panel'];
const LANG_TASKS = ['clouds', 'kerala', 'mouse'];
const VIEW_ENUMS = {
  x: ['step', 'back'], chart: ['accuracy', 'grad', 'horizon', 'profile'],
  phaseX: ['T', 'gain', 'H', 'forgetBias'], phaseY: ['T', 'gain', 'H', 'forgetBias'],
  langTask: LANG_TASKS,
};
const MAX_TEXT = 4000;
// MAX_TOUR_BYTES is the largest tour file, as the server's bound
// (maxTourBytes in internal/api/tours.go): a bigger one is refused
// before it is read, so a wrong file cannot freeze the page.
export const MAX_TOUR_BYTES = 1 << 20;

class TourError extends Error {
  constructor(field, key, vars = {}) {
    super(key);
    this.field = field;
    this.key = key;
    this.vars = vars;
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// checkTour returns null for a good tour file (parsed JSON), else an
// error {step, id, field, key, vars} that tourErrorText words.
// limits are the server's (the bootstrap's and hello's): train batch
// and iterations.
export function checkTour(file, limits = boot.limits) {
  const where = { step: 0, id: '' };
  try {
    checkFile(file, where, limits);
    return null;
  } catch (err) {
    if (!(err instanceof TourError)) throw err;
    return { ...where, field: err.field, key: err.key, vars: err.vars };
  }
}

function checkFile(file, where, limits) {
  object(file, '', ['id', 'title', 'steps']);
  name(file.id, 'id');
  text(file.title, 'title');
  if (!Array.isArray(file.steps)) throw new TourError('steps', file.steps === undefined ? 'missing' : 'array');
  if (file.steps.length < 1 || file.steps.length > 100) throw new TourError('steps', 'steps', { n: file.steps.length });
  const seen = new Map();
  file.steps.forEach((step, i) => {
    where.step = i + 1;
    where.id = isObject(step) && typeof step.id === 'string' && NAME.test(step.id) ? step.id : '';
    checkStep(step, limits);
    if (seen.has(step.id)) throw new TourError('id', 'dup', { other: seen.get(step.id) });
    seen.set(step.id, i + 1);
  });
}

function checkStep(step, limits) {
  object(step, '', STEP_FIELDS);
  name(step.id, 'id');
  text(step.title, 'title');
  text(step.text, 'text');
  const base = step.settings === undefined ? {} : settings(step.settings, 'settings', {});
  if (step.tab !== undefined) oneOf(step.tab, 'tab', TABS);
  if (step.pins !== undefined) {
    if (!Array.isArray(step.pins)) throw new TourError('pins', 'array');
    if (step.pins.length > 7) throw new TourError('pins', 'pins', { n: step.pins.length });
    step.pins.forEach((p, i) => settings(p, `pins[${i}]`, {}));
  }
  if (step.train !== undefined && typeof step.train !== 'boolean') throw new TourError('train', 'bool');
  if (step.sequence !== undefined) {
    if (!Array.isArray(step.sequence)) throw new TourError('sequence', 'array');
    if (step.sequence.length < 1 || step.sequence.length > 8) throw new TourError('sequence', 'sequence', { n: step.sequence.length });
    if (step.train !== true) throw new TourError('sequence', 'seqTrain');
    step.sequence.forEach((s, i) => settings(s, `sequence[${i}]`, base));
  }
  if (step.view !== undefined) {
    object(step.view, 'view', ['x', 'states', 'jac', 'spectrum', 'chart', 'outputStep', 'phaseX', 'phaseY', 'langTask']);
    for (const [k, v] of Object.entries(step.view)) {
      const f = `view.${k}`;
      if (VIEW_ENUMS[k]) oneOf(v, f, VIEW_ENUMS[k]);
      else if (k === 'outputStep') number(v, f, 0, SPEC.T.max, true);
      else if (typeof v !== 'boolean') throw new TourError(f, 'bool');
    }
  }
  if (step.lab !== undefined) {
    object(step.lab, 'lab', ['task', 'optimizer', 'lr', 'batch', 'iterations', 'cells']);
    const train = limits?.train || {};
    for (const [k, v] of Object.entries(step.lab)) {
      const f = `lab.${k}`;
      if (k === 'task') oneOf(v, f, ['recall', 'adding', 'copy']);
      else if (k === 'optimizer') oneOf(v, f, ['adam', 'sgd']);
      else if (k === 'lr') number(v, f, 1e-6, 10, false);
      else if (k === 'batch') number(v, f, 1, train.batch ?? 128, true);
      else if (k === 'iterations') number(v, f, 1, train.iterations ?? 20000, true);
      else if (k === 'cells') {
        const cells = SPEC.cell.options;
        if (!Array.isArray(v)) throw new TourError(f, 'array');
        if (v.length < 1 || v.length > cells.length) throw new TourError(f, 'cells', { n: cells.length });
        v.forEach((c, i) => {
          oneOf(c, `${f}[${i}]`, cells);
          if (v.indexOf(c) !== i) throw new TourError(`${f}[${i}]`, 'twice', { value: c });
        });
      }
    }
  }
  if (step.langlab !== undefined) {
    object(step.langlab, 'langlab', ['task', 'distance', 'iterations', 'models']);
    const lab = limits?.lang || {};
    for (const [k, v] of Object.entries(step.langlab)) {
      const f = `langlab.${k}`;
      if (k === 'task') oneOf(v, f, LANG_TASKS);
      else if (k === 'distance') number(v, f, 0, lab.distance ?? 200, true);
      else if (k === 'iterations') number(v, f, 1, lab.iterations ?? 5000, true);
      else if (k === 'models') {
        const models = SPEC.cell.options.flatMap((c) => [c, `bi-${c}`]);
        if (!Array.isArray(v)) throw new TourError(f, 'array');
        if (v.length < 1 || v.length > 4) throw new TourError(f, 'cells', { n: 4 });
        v.forEach((m, i) => {
          oneOf(m, `${f}[${i}]`, models);
          if (v.indexOf(m) !== i) throw new TourError(`${f}[${i}]`, 'twice', { value: m });
        });
      }
    }
  }
  if (step.predict !== undefined) {
    object(step.predict, 'predict', ['kind', 'question']);
    oneOf(step.predict.kind, 'predict.kind', ['point']);
    text(step.predict.question, 'predict.question');
  }
  if (step.panel !== undefined) oneOf(step.panel, 'panel', ['bptt']);
}

function object(v, field, allowed) {
  if (v === undefined) throw new TourError(field, 'missing');
  if (!isObject(v)) throw new TourError(field, 'object');
  for (const k of Object.keys(v).sort()) {
    if (!allowed.includes(k)) throw new TourError(field ? `${field}.${k}` : k, 'unknown', { fields: allowed.join(', ') });
  }
}

function name(v, field) {
  if (v === undefined) throw new TourError(field, 'missing');
  if (typeof v !== 'string') throw new TourError(field, 'string');
  if (!NAME.test(v)) throw new TourError(field, 'name', { value: v.slice(0, 40) });
}

function text(v, field) {
  object(v, field, ['en', 'es']);
  for (const l of ['en', 'es']) {
    const f = `${field}.${l}`;
    if (v[l] === undefined) throw new TourError(f, 'missing');
    if (typeof v[l] !== 'string') throw new TourError(f, 'string');
    if (!v[l].trim()) throw new TourError(f, 'empty');
    const n = [...v[l]].length;
    if (n > MAX_TEXT) throw new TourError(f, 'long', { n, max: MAX_TEXT });
  }
}

function oneOf(v, field, options) {
  if (v === undefined) throw new TourError(field, 'missing');
  if (typeof v !== 'string') throw new TourError(field, 'string');
  if (!options.includes(v)) throw new TourError(field, 'oneOf', { options: options.join(', '), value: v.slice(0, 40) });
}

function number(v, field, lo, hi, whole) {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TourError(field, 'number');
  if (v < lo || v > hi) throw new TourError(field, 'range', { lo: fmt(lo), hi: fmt(hi), value: fmt(v) });
  if (whole && !Number.isInteger(v)) throw new TourError(field, 'whole', { value: fmt(v) });
}

const fmt = (v) => (lang() === 'es' ? String(v).replace('.', ',') : String(v));

// settings checks settings by their protocol names against the schema;
// it returns base with them.
function settings(v, field, base) {
  object(v, field, Object.keys(SPEC));
  for (const [k, value] of Object.entries(v)) {
    const spec = SPEC[k];
    const f = `${field}.${k}`;
    switch (spec.kind) {
      case 'enum':
        oneOf(value, f, spec.options);
        break;
      case 'bool':
        if (typeof value !== 'boolean') throw new TourError(f, 'bool');
        break;
      default: {
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new TourError(f, 'number');
        const whole = spec.kind !== 'float';
        if (whole && !Number.isInteger(value)) throw new TourError(f, 'whole', { value: fmt(value) });
        const low = spec.minExclusive ? value <= spec.min : value < spec.min;
        if (low || value > spec.max) {
          throw new TourError(f, spec.minExclusive ? 'rangeEx' : 'range', { lo: fmt(spec.min), hi: fmt(spec.max), value: fmt(value) });
        }
      }
    }
  }
  const all = { ...base, ...v };
  if (all.act === 'linear' && all.cell && !SPEC.act.appliesTo.includes(all.cell)) {
    throw new TourError(`${field}.act`, 'linear', { cell: all.cell });
  }
  return all;
}

// tourErrorText words a checkTour error in the page's language: "Step 3
// (clip-train), field settings.gain: must be between 0 and 100, got 101".
export function tourErrorText(err) {
  const msg = t(`tour.err.${err.key}`, err.vars);
  if (!err.step) return err.field ? t('tour.err.file', { field: err.field, msg }) : msg;
  const where = err.id ? t('tour.err.stepId', { n: err.step, id: err.id }) : t('tour.err.step', { n: err.step });
  return err.field ? t('tour.err.at', { where, field: err.field, msg }) : `${where}: ${msg}`;
}

addStrings({
  en: {
    'tour.open': 'Open tour file…',
    'tour.open.title': 'Load a guided tour from a JSON file on this computer (see docs/tour.md)',
    'tour.opened': 'Tour “{title}”: {n} steps.',
    'tour.bad': 'This tour file cannot be used: {msg}',
    'tour.tooBig': 'it is larger than 1 MB',
    'tour.badJSON': 'This file is not JSON: {msg}',
    'tour.loadFailed': 'The tour “{name}” could not be loaded: {msg}',
    'tour.badName': 'a tour’s name is 1 to 64 of a-z, 0-9 and -',
    'tour.count': '{n} / {count}',
    'tour.err.step': 'Step {n}',
    'tour.err.stepId': 'Step {n} ({id})',
    'tour.err.at': '{where}, field {field}: {msg}',
    'tour.err.file': 'Field {field}: {msg}',
    'tour.err.missing': 'is missing',
    'tour.err.object': 'must be an object',
    'tour.err.array': 'must be an array',
    'tour.err.string': 'must be a string',
    'tour.err.bool': 'must be true or false',
    'tour.err.number': 'must be a number',
    'tour.err.name': 'must be 1 to 64 of a-z, 0-9 and -, got “{value}”',
    'tour.err.empty': 'must not be empty',
    'tour.err.long': 'is {n} characters long; at most {max}',
    'tour.err.unknown': 'is not a field here; the fields are {fields}',
    'tour.err.oneOf': 'must be one of {options}, got “{value}”',
    'tour.err.range': 'must be between {lo} and {hi}, got {value}',
    'tour.err.rangeEx': 'must be greater than {lo} and at most {hi}, got {value}',
    'tour.err.whole': 'must be a whole number, got {value}',
    'tour.err.steps': 'must have 1 to 100 steps, got {n}',
    'tour.err.pins': 'takes at most 7 pins, got {n}',
    'tour.err.sequence': 'must have 1 to 8 entries, got {n}',
    'tour.err.seqTrain': 'is a chain of trainings: set train to true',
    'tour.err.cells': 'must name 1 to {n} models',
    'tour.err.twice': 'names {value} twice',
    'tour.err.dup': 'this id is also the id of step {other}',
    'tour.err.linear': 'linear is for a model with an activation; {cell} uses its own gates',
  },
  es: {
    'tour.open': 'Abrir archivo de visita…',
    'tour.open.title': 'Cargar una visita guiada desde un archivo JSON de este ordenador (véase docs/tour.md)',
    'tour.opened': 'Visita «{title}»: {n} pasos.',
    'tour.bad': 'Este archivo de visita no se puede usar: {msg}',
    'tour.tooBig': 'ocupa más de 1 MB',
    'tour.badJSON': 'Este archivo no es JSON: {msg}',
    'tour.loadFailed': 'No se pudo cargar la visita «{name}»: {msg}',
    'tour.badName': 'el nombre de una visita tiene de 1 a 64 caracteres entre a-z, 0-9 y -',
    'tour.count': '{n} / {count}',
    'tour.err.step': 'Paso {n}',
    'tour.err.stepId': 'Paso {n} ({id})',
    'tour.err.at': '{where}, campo {field}: {msg}',
    'tour.err.file': 'Campo {field}: {msg}',
    'tour.err.missing': 'falta',
    'tour.err.object': 'debe ser un objeto',
    'tour.err.array': 'debe ser una lista',
    'tour.err.string': 'debe ser un texto',
    'tour.err.bool': 'debe ser true o false',
    'tour.err.number': 'debe ser un número',
    'tour.err.name': 'debe tener de 1 a 64 caracteres entre a-z, 0-9 y -, pero es «{value}»',
    'tour.err.empty': 'no puede estar vacío',
    'tour.err.long': 'tiene {n} caracteres; como mucho {max}',
    'tour.err.unknown': 'no es un campo válido aquí; los campos son {fields}',
    'tour.err.oneOf': 'debe ser uno de {options}, pero es «{value}»',
    'tour.err.range': 'debe estar entre {lo} y {hi}, pero vale {value}',
    'tour.err.rangeEx': 'debe ser mayor que {lo} y como mucho {hi}, pero vale {value}',
    'tour.err.whole': 'debe ser un número entero, pero vale {value}',
    'tour.err.steps': 'debe tener de 1 a 100 pasos, pero tiene {n}',
    'tour.err.pins': 'admite como mucho 7 curvas fijadas, pero hay {n}',
    'tour.err.sequence': 'debe tener de 1 a 8 entradas, pero tiene {n}',
    'tour.err.seqTrain': 'es una cadena de entrenamientos: pon train en true',
    'tour.err.cells': 'debe nombrar de 1 a {n} modelos',
    'tour.err.twice': 'nombra {value} dos veces',
    'tour.err.dup': 'este id es también el del paso {other}',
    'tour.err.linear': 'linear es para un modelo con activación; {cell} usa sus propias puertas',
  },
});
