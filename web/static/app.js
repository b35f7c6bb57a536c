// gradviz page: wires the controls, the websocket and the views together.
// State lives in three places kept in step: `settings` and `view` here,
// the controls, and the URL (so a copied link reproduces the view).
// Each tab is a view (views.js lists them); only the visible one asks
// the server for its picture, the others are marked stale and ask when
// they are shown.

import { t, setLang, applyI18n } from './i18n.js';
import { SETTINGS, LAB_MODEL, readPage, pageQuery, labDefaults, viewDefaults, sameSettings } from './url.js';
import { Connection, Analysis, isRateLimited, errorText } from './socket.js';
import { applyTrainLimits } from './lab.js';
import { Controls, advancedSettings } from './controls.js';
import { Tabs, tabButton } from './tabs.js';
import { Router } from './router.js';
import { VIEWS } from './views.js';
import {
  tourSteps, goToStep, setApplier, noStep, setTour, stepIndex, say, checkTour, tourErrorText, MAX_TOUR_BYTES,
} from './tour.js';
import { showBptt } from './tourpanel.js';
import { Predict } from './predict.js';
import { initPresent } from './present.js';
import { initEmbed } from './embed.js';
import { initClass } from './class.js';

const $ = (id) => document.getElementById(id);
const body = document.body;

const boot = JSON.parse($('bootstrap').textContent);
const defaults = boot.defaults;
const options = boot.options;
applyTrainLimits(boot.limits.train); // before the URL's lab settings are read

const state = readPage(location.search, defaults, options, tourSteps().map((s) => s.id), VIEWS);
const settings = state.settings;
const view = state.view;
// The lab opened on the page's defaults starts from its own model.
if (view.tab === 'lab' && !view.preset && sameSettings(settings, defaults)) Object.assign(settings, LAB_MODEL);

let inputSeq = 0; // user changes, for performance marks
let urlTimer = 0; // a pending URL update
let urlAt = 0; // when the URL was last written
let draws = 0; // views drawn, for tests
const stale = new Set(); // views whose picture is older than the settings
let presetChanged = false; // settings moved since the preset was applied
let lastProfile = null; // the profile shown, for the tour's panel

setLang(view.lang);
fillPresetOptions();

// In the training lab the settings act on every model it trains.
const controls = new Controls({ options, limits: boot.limits, onChange, cells: () => (view.tab === 'lab' ? view.lab.cells : []) });

const wsURL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
let downTimer = 0;
const conn = new Connection(wsURL, {
  onOpen() {
    clearInterval(downTimer);
    $('banner-conn').hidden = true;
    body.dataset.connected = 'true';
    for (const v of views) if (v.connected) v.connected();
    analysis.resend();
    classMode?.join();
  },
  onDown(seconds) {
    body.dataset.connected = 'false';
    let left = seconds;
    const show = () => {
      $('banner-conn').textContent = t('conn.lost', { s: left });
      $('banner-conn').hidden = false;
    };
    show();
    clearInterval(downTimer);
    downTimer = setInterval(() => {
      left = Math.max(0, left - 1);
      show();
    }, 1000);
    for (const v of views) if (v.disconnected) v.disconnected();
  },
  onMessage(msg) {
    if (msg.type === 'hello') {
      controls.applyLimits(msg.limits);
      controls.set(settings);
      applyTrainLimits(msg.limits.train, view.lab);
      byName.get('lab').syncControls();
      return;
    }
    if (classMode?.onMessage(msg)) return;
    if (!msg.id && isRateLimited(msg)) {
      setTimeout(() => analysis.resend(), 1000);
    }
    router.route(msg);
  },
});

// The sensitivity and the gradient map share the server's analysis slot,
// so they share its scheduler; each view that uses it adds its status.
const analysisStatus = [];
const analysis = new Analysis(conn, {
  onBusy: (on) => {
    for (const el of analysisStatus) el.textContent = on ? t('computing') : '';
    body.classList.toggle('busy-analysis', on);
  },
});

// page is what every view is built with: the shared state, the socket,
// and the page's services.
const page = {
  settings, // the model's settings, by protocol name; views read them
  view, // the page's own state (tab, language, toggles), as in the URL
  defaults,
  options,
  limits: boot.limits,
  series: boot.series, // the series table the profile draws from
  pins: state.pins, // the profile's pinned runs, in the URL
  sequence: null, // {preset, step}: a preset's chain of trainings
  controls,
  conn,
  analysis,
  analysisStatus,
  get inputSeq() { return inputSeq; },
  // change moves settings from a view (as if by their controls).
  change: changeSettings,
  modelMessage,
  updateURL,
  applyView,
  relabel,
  markPresetChanged,
  drawn,
  showServerError,
  // errorText words a server error in the page's language.
  errorText: (msg) => errorText(msg, controls.limits),
  clearServerErrors,
  download,
  trainingEnded,
};

const views = VIEWS.map((def) => def.create(page));
const byName = new Map(views.map((v) => [v.name, v]));
const router = new Router(views);
const predict = new Predict($('tour-predict'), byName.get('profile'));
// The class: what the teacher's page relays, and how a student's page
// applies it, with the functions a user's change goes through.
let classMode = null;
classMode = initClass(page, {
  state: () => ({ settings: { ...settings }, tab: view.tab, step: view.preset, pins: page.pins.map((p) => p.settings) }),
  apply: applyClassState,
  question: () => (predict.active() ? { prompt: predict.question[view.lang] ?? predict.question.en, guess: predict.state.guess } : null),
  reveal: () => { if (predict.active()) predict.reveal(); },
});

// The tabs, in the registry's order; a view's own panel goes after the
// ones in the page.
const tabList = document.querySelector('.tabs');
tabList.replaceChildren(...views.map((v, i) => tabButton(v.name, i === 0)));
const work = document.querySelector('.work');
for (const v of views) if (!v.panel.isConnected) work.append(v.panel);
const present = initPresent(page);
initEmbed(page);
applyI18n(document);
const tabs = new Tabs(tabList, selectTab);

// Start: show the state from the URL, then ask for what the tab shows.
controls.set(settings);
if (advancedSettings().some((n) => settings[n] !== defaults[n])) $('advanced').open = true;
byName.get('lab').syncControls();
showPresetText();
markStale();
applyView();
tabs.show(view.tab);
showTab();
byName.get('profile').start();
bindPageControls();
setApplier(applyStep);
// A URL names a step only while the page shows that step's state (see
// updateURL), so a link with one, such as a teacher's "?preset=irnn",
// applies it; ?tour=NAME loads that tour first.
if (view.badTour) showTourMessage(t('tour.loadFailed', { name: view.badTour, msg: t('tour.badName') }), true);
if (view.tour) loadServedTour(view.tour);
else if (view.preset) applyPreset(view.preset);
present.start();

// ---- settings → server ----

function onChange(name, value) {
  // A log slider maps neighbouring positions to the same length.
  if (settings[name] === value && !body.dataset.error) return;
  applyChanges({ [name]: value });
}

// changeSettings takes settings a view moved (the phase diagram's dot):
// the controls show them, and everything else follows as for a control.
function changeSettings(values) {
  if (Object.keys(values).every((n) => settings[n] === values[n])) return;
  applyChanges(values);
  controls.set(settings);
}

function applyChanges(values) {
  inputSeq++;
  performance.mark(`gv-input-${inputSeq}`);
  Object.assign(settings, values);
  controls.updateEnabled(settings);
  for (const [name, value] of Object.entries(values)) {
    for (const v of views) if (v.settingChanged) v.settingChanged(name, value);
  }
  markPresetChanged();
  markStale();
  // The request first: the URL and the export links are written while
  // the server computes.
  showTab(false);
  updateURL();
}

function markStale() {
  for (const v of views) stale.add(v.name);
}

// showTab asks for the visible tab's picture if the settings changed
// since it was drawn; switched redraws what the tab already has.
function showTab(switched = true) {
  for (const v of views) if (v.show) v.show(v.name === view.tab);
  const v = byName.get(view.tab);
  if (stale.has(v.name) && v.request) {
    stale.delete(v.name);
    v.request(settings, view);
  }
  if (switched) v.redraw();
}

function selectTab(name) {
  if (view.tab === name) return;
  view.tab = name;
  tabs.show(name);
  controls.updateEnabled(settings);
  // The lab opened on the page's defaults starts from its own model
  // (LAB_MODEL), on which its defaults teach.
  if (name === 'lab' && !view.preset && sameSettings(settings, defaults)) changeSettings({ ...LAB_MODEL });
  updateURL();
  showTab();
}

function modelMessage(type) {
  const msg = { type };
  for (const name of Object.keys(SETTINGS)) msg[name] = settings[name];
  return msg;
}

function showServerError(msg, banner) {
  body.dataset.error = msg.field || 'general';
  const text = errorText(msg, controls.limits);
  if (msg.field && controls.showError(msg.field, text, true)) {
    // The message is by its control; say why the plot did not change.
    banner.textContent = t('error.stale');
  } else {
    banner.textContent = t('error.general', { msg: text });
  }
  banner.hidden = false;
}

function clearServerErrors() {
  controls.clearServerErrors();
  delete body.dataset.error;
}

// drawn marks the page for tests: which view drew which settings.
function drawn(tab, config) {
  draws++;
  body.dataset.draws = String(draws);
  body.dataset.plotted = JSON.stringify({ tab, config: config ?? null });
}

// ---- the tour ----

function fillPresetOptions() {
  const sel = $('preset');
  const none = document.createElement('option');
  none.value = '';
  none.dataset.i18n = 'preset.none';
  none.textContent = t('preset.none');
  sel.replaceChildren(none, ...tourSteps().map((step) => {
    const o = document.createElement('option');
    o.value = step.id;
    o.textContent = say(step.title);
    return o;
  }));
  sel.value = view.preset;
}

function stepById(id) {
  return tourSteps()[stepIndex(id)] || null;
}

function showPresetText() {
  const p = stepById(view.preset);
  $('preset').value = view.preset;
  $('preset-again').disabled = !p;
  $('preset-text').hidden = !p;
  if (!p) return;
  $('preset-name').textContent = say(p.title);
  $('preset-count').textContent = t('tour.count', { n: stepIndex(p.id) + 1, count: tourSteps().length });
  const paras = say(p.text).split('\n').map((line) => {
    const el = document.createElement('p');
    el.textContent = line;
    return el;
  });
  if (presetChanged) {
    const el = document.createElement('p');
    el.className = 'note';
    el.textContent = t('preset.changed');
    paras.push(el);
  }
  $('preset-body').replaceChildren(...paras);
  showPanel();
}

// showPanel shows what the step's panel shows, for the newest profile.
function showPanel() {
  const p = stepById(view.preset);
  const el = $('tour-panel');
  el.hidden = !p || p.panel !== 'bptt';
  if (!el.hidden) showBptt(el, lastProfile);
}
document.addEventListener('gv-profile', (e) => {
  lastProfile = e.detail;
  if (!$('tour-panel').hidden) showBptt($('tour-panel'), lastProfile);
});

function markPresetChanged() {
  if (!view.preset || presetChanged) return;
  presetChanged = true;
  showPresetText();
}

// applyPreset applies the tour's step id, or leaves the tour for ''.
function applyPreset(id) {
  const i = stepIndex(id);
  if (i < 0) {
    view.preset = '';
    presetChanged = false;
    predict.stop();
    noStep();
    showPresetText();
    updateURL();
    return;
  }
  goToStep(i);
}

// applyStep sets what the step names over the defaults (tour.js calls it).
function applyStep(p) {
  view.preset = p.id;
  presetChanged = false;
  inputSeq++;
  performance.mark(`gv-input-${inputSeq}`);
  Object.assign(settings, defaults, p.settings || {});
  // The view starts from its defaults too, so the picture is the text's.
  Object.assign(view, { x: 'step', states: false, jac: false, spectrum: true, chart: 'accuracy', outputStep: 0 }, viewDefaults(VIEWS), p.view || {});
  view.lab = { ...labDefaults(), cells: [settings.cell], ...(p.lab || {}) };
  byName.get('profile').setPins((p.pins || []).map((ps) => ({ ...defaults, ...ps })));
  if (p.predict && (p.tab || 'profile') === 'profile') predict.start(p.predict);
  else predict.stop();
  if (p.sequence) Object.assign(settings, p.sequence[0]);
  controls.set(settings);
  controls.clearServerErrors();
  $('advanced').open = advancedSettings().some((n) => settings[n] !== defaults[n]);
  byName.get('lab').syncControls();
  showPresetText();
  markStale();
  const tab = p.tab || 'profile';
  view.tab = tab;
  tabs.show(tab);
  controls.updateEnabled(settings);
  applyView();
  showTab();
  page.sequence = null;
  if (p.train) {
    page.sequence = p.sequence ? { preset: p.id, step: 0 } : null;
    byName.get('lab').train(view.lab.cells, { fresh: true });
  }
  // A language-lab step sets the lab's sentence and models and trains.
  if (p.langlab) byName.get('lang').preset(p.langlab);
}

// trainingEnded goes on with a step's chain of trainings once a training
// has ended by itself.
function trainingEnded() {
  const sequence = page.sequence;
  if (!sequence) return;
  const p = stepById(sequence.preset);
  sequence.step++;
  if (!p || view.preset !== p.id || !p.sequence || sequence.step >= p.sequence.length) {
    page.sequence = null;
    return;
  }
  const over = p.sequence[sequence.step];
  Object.assign(settings, p.settings, over);
  controls.set(settings);
  markStale();
  updateURL();
  // Let the finished run's last report reach the screen first.
  setTimeout(() => byName.get('lab').train(view.lab.cells), 300);
}

function showTourMessage(text, isError) {
  const el = $('tour-msg');
  el.textContent = text;
  el.classList.toggle('error', !!isError);
  el.hidden = !text;
  body.dataset.tourError = isError ? text : '';
}

// useTour shows a checked tour; a step named by the URL is applied.
function useTour(file, name, fromFile = false) {
  predict.stop();
  setTour(file);
  view.tour = name;
  view.fileTour = fromFile;
  const wanted = view.preset;
  view.preset = '';
  presetChanged = false;
  fillPresetOptions();
  showPresetText();
  body.dataset.tour = file.id;
  if (wanted && stepIndex(wanted) >= 0) applyPreset(wanted);
  else updateURL();
}

async function loadServedTour(name) {
  try {
    const resp = await fetch(`/api/tours/${name}`);
    if (!resp.ok) {
      let msg = `${resp.status} ${resp.statusText}`;
      try { msg = (await resp.json()).message || msg; } catch { /* not JSON */ }
      throw new Error(msg);
    }
    const file = await resp.json();
    const err = checkTour(file, controls.limits);
    if (err) throw new Error(tourErrorText(err));
    useTour(file, name);
    showTourMessage(t('tour.opened', { title: say(file.title), n: file.steps.length }), false);
  } catch (err) {
    view.tour = '';
    view.preset = '';
    updateURL();
    showTourMessage(t('tour.loadFailed', { name, msg: err.message }), true);
  }
}

// openTourFile reads a tour file the user chose, checked here as the
// server checks its own.
async function openTourFile(file) {
  if (file.size > MAX_TOUR_BYTES) {
    showTourMessage(t('tour.bad', { msg: t('tour.tooBig') }), true);
    return;
  }
  let parsed;
  try {
    parsed = JSON.parse(await file.text());
  } catch (err) {
    showTourMessage(t('tour.badJSON', { msg: err.message }), true);
    return;
  }
  const err = checkTour(parsed, controls.limits);
  if (err) {
    showTourMessage(t('tour.bad', { msg: tourErrorText(err) }), true);
    return;
  }
  view.preset = '';
  useTour(parsed, '', true);
  showTourMessage(t('tour.opened', { title: say(parsed.title), n: parsed.steps.length }), false);
}

// bindPresetSelect applies a step on a deliberate choice: a click on an
// option, or Enter. Arrowing through the closed select only moves its
// choice, so passing a training step starts nothing; leaving the select
// shows the applied step again.
function bindPresetSelect() {
  const sel = $('preset');
  let arrowed = false;
  sel.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      arrowed = false;
      if (sel.value !== view.preset || !view.preset) applyPreset(sel.value);
    } else if (['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown'].includes(e.key) || e.key.length === 1) {
      arrowed = true;
    }
  });
  sel.addEventListener('change', () => {
    if (arrowed) return;
    applyPreset(sel.value);
  });
  sel.addEventListener('mousedown', () => { arrowed = false; });
  sel.addEventListener('blur', () => {
    arrowed = false;
    sel.value = view.preset;
  });
}

// ---- the class ----

// applyClassState applies what the teacher's page changed: its tour
// step first (which sets the settings it names), then the pins, the
// settings and the tab, as if chosen here; last Play or Stop.
function applyClassState(s) {
  if ('step' in s && s.step !== view.preset) applyPreset(s.step || '');
  if (s.pins && JSON.stringify(s.pins) !== JSON.stringify(page.pins.map((p) => p.settings))) {
    byName.get('profile').setPins(s.pins.map((ps) => ({ ...defaults, ...ps })));
    updateURL();
  }
  if (s.settings) changeSettings({ ...s.settings });
  if (s.tab && s.tab !== view.tab && byName.has(s.tab)) selectTab(s.tab);
  if (s.play && view.tab === 'profile') {
    if ([...$('speed').options].some((o) => o.value === String(s.play.speed))) $('speed').value = String(s.play.speed);
    if (s.play.on !== ($('play').dataset.playing === 'true')) $('play').click();
  }
}

// ---- page state ----

// updateURL keeps the address bar in step, at most ten times a second:
// browsers throttle faster history updates.
function updateURL() {
  const write = () => {
    urlAt = performance.now();
    urlTimer = 0;
    // The URL names the preset only while the page shows the preset's own
    // state: loading a URL with a preset applies it.
    let q = pageQuery(settings, presetChanged ? { ...view, preset: '' } : view, page.pins, defaults, VIEWS);
    // A class's page keeps its code, so a reload joins it again.
    const cls = classMode?.code();
    if (cls) q = q ? `${q}&class=${cls}` : `class=${cls}`;
    history.replaceState(null, '', q ? `?${q}` : location.pathname);
    for (const v of views) if (v.urlWritten) v.urlWritten();
    classMode?.changed();
  };
  if (urlTimer) return;
  const wait = 100 - (performance.now() - urlAt);
  if (wait <= 0) write();
  else urlTimer = setTimeout(write, wait);
}

function applyView() {
  document.documentElement.classList.toggle('large', view.large);
  $('large').setAttribute('aria-pressed', String(view.large));
  $('lang').value = view.lang;
  for (const v of views) if (v.syncView) v.syncView();
  updateURL();
}

// relabel redraws everything that holds text, after a language switch.
// A language is not a setting: the preset stays applied.
function relabel() {
  applyI18n(document);
  // The number boxes write their values in the language too.
  controls.relabel(settings);
  byName.get('lab').syncControls();
  fillPresetOptions();
  showPresetText();
  predict.relabel();
  applyView();
  for (const v of views) v.relabel();
  present.relabel();
  classMode.relabel();
}

function bindPageControls() {
  $('controls').addEventListener('submit', (e) => e.preventDefault());
  $('lang').addEventListener('change', (e) => {
    view.lang = setLang(e.target.value);
    relabel();
  });
  $('large').addEventListener('click', () => {
    view.large = !view.large;
    relabel();
  });
  bindPresetSelect();
  $('preset-again').addEventListener('click', () => applyPreset(view.preset));
  // The skip link goes to the plot of the tab that is shown.
  $('skip').addEventListener('click', (e) => {
    e.preventDefault();
    const shown = document.querySelector('.panel:not([hidden])');
    const target = shown && shown.querySelector('[role="application"], [role="img"]');
    if (!target) return;
    if (!target.hasAttribute('tabindex')) target.tabIndex = -1;
    target.focus();
    target.scrollIntoView({ block: 'nearest' });
  });
  $('tour-open').addEventListener('click', () => $('tour-file').click());
  $('tour-file').addEventListener('change', (e) => {
    const file = e.target.files[0];
    if (file) openTourFile(file);
    e.target.value = '';
  });
}

// download fetches the server's rendering of a view and saves it as
// name, so a missing or failing endpoint says why, in banner, instead of
// saving an error page.
async function download(url, name, { status, banner }) {
  try {
    const resp = await fetch(url);
    if (!resp.ok) {
      let message = `${resp.status} ${resp.statusText}`;
      try {
        message = errorText(await resp.json(), controls.limits) || message;
      } catch { /* not JSON */ }
      throw new Error(message);
    }
    const blob = await resp.blob();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 30000);
    body.dataset.exported = name.slice(name.lastIndexOf('.') + 1);
  } catch (err) {
    banner.textContent = t('export.failed', { msg: err.message });
    banner.hidden = false;
    body.dataset.exportError = err.message;
  }
  status.textContent = '';
}
