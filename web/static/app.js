// gradviz page: wires the controls, the websocket and the views together.
// State lives in three places kept in step: `settings` and `view` here,
// the controls, and the URL (so a copied link reproduces the view).
// Only the visible tab asks the server for its picture; the others are
// marked stale and ask when they are shown.

import { t, setLang, applyI18n } from './i18n.js';
import { SETTINGS, MAX_PINS, LAB, CELLS, readPage, pageQuery, exportURL, labDefaults, parseLab } from './url.js';
import { Connection, Requests, Analysis, newId, isRateLimited, errorText } from './socket.js';
import { Plot, fmtNum } from './plot.js';
import { Controls } from './controls.js';
import { showReadout } from './readout.js';
import { Tabs } from './tabs.js';
import { Spectrum } from './spectrum.js';
import { BidirPlot } from './bidir.js';
import { GradientMap } from './gmap.js';
import { Lab, everyFor, applyTrainLimits } from './lab.js';
import { PRESETS, PRESET_IDS, presetById } from './presets.js';

const $ = (id) => document.getElementById(id);
const body = document.body;

const boot = JSON.parse($('bootstrap').textContent);
const defaults = boot.defaults;
const options = boot.options;
applyTrainLimits(boot.limits.train); // before the URL's lab settings are read

const page = readPage(location.search, defaults, options, PRESET_IDS);
const settings = page.settings;
const view = page.view;
let pinSerial = 0;
let pins = page.pins.map((s) => ({ key: `p${++pinSerial}`, settings: s, res: null, error: '' }));

let current = null; // the newest profile message shown
let reveal = 1; // first step drawn; T+1 at the start of an animation
let pendingDraw = null; // what the next plot draw completes
let inputSeq = 0; // user changes, for performance marks
let measuredSeq = 0;
let sentSeq = 0;
let urlTimer = 0; // a pending URL update
let urlAt = 0; // when the URL was last written
let draws = 0; // views drawn, for tests
const stale = { profile: true, bidir: true, map: true };
let lastSensitivity = null;
let lastMap = null;
let presetChanged = false; // settings moved since the preset was applied
let sequence = null; // {preset, step}: a preset's chain of trainings
let lastTrain = null; // the train message last sent

setLang(view.lang);
fillPresetOptions();
fillLabOptions();
applyI18n(document);

const controls = new Controls({ options, limits: boot.limits, onChange });
const plot = new Plot({
  el: $('plot'), legend: $('legend'), jacEl: $('jacplot'), jacLegend: $('jaclegend'), table: boot.series, onDraw,
});
const spectrum = new Spectrum({ plane: $('spec-plane'), stems: $('spec-stems'), caption: $('spec-caption') });
const bidirPlot = new BidirPlot({ el: $('bidir-plot'), legend: $('bidir-legend'), onDraw: () => drawn('bidir', lastSensitivity?.config) });
const gmap = new GradientMap({ canvas: $('map-canvas'), legend: $('map-legend'), hover: $('map-hover'), onDraw: () => drawn('map', lastMap?.config) });
const lab = new Lab({
  loss: $('lab-loss'), lossLegend: $('lab-loss-legend'), side: $('lab-side'), sideLegend: $('lab-side-legend'),
  heat: $('lab-heat'), heatLegend: $('lab-heat-legend'), table: $('lab-table'), tableBody: $('lab-tbody'),
  status: $('lab-status'), banner: $('lab-banner'), summary: $('lab-summary'),
}, { onState: onTrainState });
const tabs = new Tabs(document.querySelector('.tabs'), selectTab);

const wsURL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
let downTimer = 0;
const conn = new Connection(wsURL, {
  onOpen() {
    clearInterval(downTimer);
    $('banner-conn').hidden = true;
    body.dataset.connected = 'true';
    requests.reconnected();
    analysis.resend();
    syncPlayButton();
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
    setBusy(false);
    lab.lost();
  },
  onMessage(msg) {
    if (msg.type === 'hello') {
      controls.applyLimits(msg.limits);
      controls.set(settings);
      applyTrainLimits(msg.limits.train, view.lab);
      setLabControls();
      return;
    }
    if (analysis.owns(msg.id)) {
      analysis.handle(msg);
      return;
    }
    if (lab.owns(msg.id)) {
      onTrainMessage(msg);
      return;
    }
    if (!msg.id && isRateLimited(msg)) {
      setTimeout(() => analysis.resend(), 1000);
    }
    requests.handle(msg);
  },
});

const requests = new Requests(conn, {
  onMain,
  onPin,
  onBusy: setBusy,
  onSend: onMainSent,
  pinSettings: (key) => pins.find((p) => p.key === key)?.settings,
});
const analysis = new Analysis(conn, {
  onAnswer: onAnalysis,
  onBusy: (on) => {
    for (const id of ['bidir-status', 'map-status']) $(id).textContent = on ? t('computing') : '';
    body.classList.toggle('busy-analysis', on);
  },
});

// Start: show the state from the URL, then ask for what the tab shows.
controls.set(settings);
if (['loss', 'bidir', 'D', 'K'].some((n) => settings[n] !== defaults[n])) $('advanced').open = true;
setLabControls();
showPresetText();
applyView();
tabs.show(view.tab);
showTab();
for (const p of pins) requests.pin(p.key, p.settings);
bindPageControls();
// A URL names a preset only while the page shows that preset's state
// (see updateURL), so a link with a preset, such as a teacher's
// "?preset=irnn", applies it.
if (view.preset) applyPreset(view.preset);

// ---- settings → server ----

function onChange(name, value) {
  // A log slider maps neighbouring positions to the same length.
  if (settings[name] === value && !body.dataset.error) return;
  inputSeq++;
  performance.mark(`gv-input-${inputSeq}`);
  settings[name] = value;
  controls.updateEnabled(settings);
  if (name === 'cell' && view.lab.cells.length === 1) {
    // A lab training one cell follows the Cell control.
    view.lab.cells = [value];
    setLabControls();
  }
  markPresetChanged();
  stale.profile = stale.bidir = stale.map = true;
  updateURL();
  showTab(false);
}

// showTab asks for the visible tab's picture if the settings changed
// since it was drawn; switched redraws what the tab already has.
function showTab(switched = true) {
  const tab = view.tab;
  lab.show(tab === 'lab', view.large, view.chart);
  if (tab === 'profile' && stale.profile) {
    stale.profile = false;
    requestMain();
  } else if (tab === 'bidir' && stale.bidir) {
    stale.bidir = false;
    requestSensitivity();
  } else if (tab === 'map' && stale.map) {
    stale.map = false;
    requestMap();
  }
  if (switched) {
    if (tab === 'profile' && current) render(current.id);
    if (tab === 'bidir' && lastSensitivity) bidirPlot.render(lastSensitivity, view.large);
    if (tab === 'map' && lastMap) gmap.render(lastMap, view.large);
  }
  syncOutputStep();
}

function selectTab(name) {
  if (view.tab === name) return;
  view.tab = name;
  tabs.show(name);
  updateURL();
  showTab();
}

function modelMessage(type) {
  const msg = { type };
  for (const name of Object.keys(SETTINGS)) msg[name] = settings[name];
  return msg;
}

// wantJacobians: the per-step factors ‖J_k‖ cost more than the profile
// at large T, so the server sends them, after the profile, only to a page
// that draws them.
function wantJacobians() {
  return view.jac && settings.cell === 'rnn';
}

function requestMain() {
  requests.main({ ...modelMessage('config'), jacobians: wantJacobians() }, { inputSeq });
  syncPlayButton();
}

function outputStep() {
  const T = settings.T;
  return Math.min(T, Math.max(1, view.outputStep || Math.ceil(T / 2)));
}

function requestSensitivity() {
  analysis.request({ ...modelMessage('sensitivity'), outputStep: outputStep() });
}

// mapRows: every output step when T is small; fewer when the answer would
// carry more than about 60 000 numbers.
function mapRows() {
  return Math.max(1, Math.min(settings.T, 200, Math.floor(60000 / settings.T)));
}

function requestMap() {
  analysis.request({ ...modelMessage('map'), rows: mapRows() });
}

function play() {
  const msg = { ...modelMessage('animate'), stepsPerSecond: Number($('speed').value), jacobians: wantJacobians() };
  requests.main(msg, { inputSeq });
  requests.animating = true; // until the server says done
  syncPlayButton();
}

function syncPlayButton() {
  const on = requests.animating;
  $('play').dataset.i18n = on ? 'stop' : 'play';
  $('play').textContent = t(on ? 'stop' : 'play');
  $('play').dataset.playing = String(on);
}

// onMainSent measures how long a control took to reach the server: the
// input event to the message leaving the page.
function onMainSent(meta) {
  const seq = meta?.inputSeq ?? 0;
  if (seq <= sentSeq) return;
  sentSeq = seq;
  const mark = `gv-input-${seq}`;
  if (performance.getEntriesByName(mark, 'mark').length) {
    if (performance.getEntriesByName('gv-send').length > 500) performance.clearMeasures('gv-send');
    performance.measure('gv-send', mark);
  }
}

// ---- server → profile ----

function onMain(msg) {
  switch (msg.type) {
    case 'profile':
      performance.mark('gv-answer');
      body.dataset.elapsedMs = String(msg.elapsedMs);
      current = msg;
      reveal = requests.animating ? msg.config.T + 1 : 1;
      controls.clearServerErrors();
      $('banner-error').hidden = true;
      delete body.dataset.error;
      render(msg.id);
      showReadout(msg);
      break;
    case 'jacobians':
      if (!current || current.id !== msg.id) return;
      current.profile.jacobianNorm = msg.jacobianNorm;
      render(current.id);
      break;
    case 'frame':
      if (!current) return;
      reveal = msg.k;
      render(current.id);
      break;
    case 'done':
      reveal = 1;
      if (current) render(current.id);
      break;
    case 'error':
      showServerError(msg, $('banner-error'));
      break;
  }
  syncPlayButton();
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

function onPin(key, msg) {
  const pin = pins.find((p) => p.key === key);
  if (!pin) return;
  if (msg.type === 'profile') {
    pin.res = { config: msg.config, profile: msg.profile };
    pin.error = '';
  } else {
    pin.error = errorText(msg, controls.limits);
  }
  if (current) render(current.id);
}

function setBusy(on) {
  body.classList.toggle('busy', on);
  $('status').textContent = on ? t('computing') : '';
}

// drawn marks the page for tests: which view drew which settings.
function drawn(tab, config) {
  draws++;
  body.dataset.draws = String(draws);
  body.dataset.plotted = JSON.stringify({ tab, config: config ?? null });
}

// ---- drawing the profile ----

function render(id) {
  if (!current || view.tab !== 'profile') return;
  const shownPins = pins.map((p) => ({
    label: pinLabel(p.res ? p.res.config : p.settings, current.config),
    res: p.res,
  }));
  pendingDraw = { id, config: current.config, pins: pins.filter((p) => p.res).length, seq: requests.last?.meta?.inputSeq ?? 0 };
  plot.render({ res: current, pins: shownPins, view, reveal });
  const showSpec = view.spectrum && !!current.theory;
  $('spectrum').hidden = !showSpec;
  $('show-spectrum').disabled = !current.theory;
  if (showSpec) spectrum.show(current.theory, view.large);
  showBanners();
  showNotes();
}

// onDraw runs after uPlot has drawn: it marks the page for tests and
// measures the time from the user's input to the redrawn plot.
function onDraw() {
  const d = pendingDraw;
  if (!d) return;
  pendingDraw = null;
  body.dataset.rendered = JSON.stringify(d.config);
  body.dataset.renderedPins = String(d.pins);
  body.dataset.curves = String(1 + d.pins);
  if (!body.dataset.ready) performance.mark('gv-first-plot');
  body.dataset.ready = String(d.id);
  drawn('profile', d.config);
  if (d.seq > measuredSeq && reveal === 1) {
    measuredSeq = d.seq;
    const mark = `gv-input-${d.seq}`;
    if (performance.getEntriesByName(mark, 'mark').length) {
      if (performance.getEntriesByName('gv-redraw').length > 500) {
        performance.clearMeasures('gv-redraw');
        performance.clearMeasures('gv-draw');
      }
      performance.measure('gv-redraw', mark);
      // The page's own share: from the answer's arrival to the drawn plot.
      if (performance.getEntriesByName('gv-answer', 'mark').length) performance.measure('gv-draw', 'gv-answer');
    }
    performance.clearMarks('gv-answer');
    for (const m of performance.getEntriesByType('mark')) {
      if (m.name.startsWith('gv-input-') && Number(m.name.slice(9)) <= d.seq) performance.clearMarks(m.name);
    }
  }
}

function showBanners() {
  const o = current.overflow;
  const banner = $('banner-overflow');
  if (o && (o.forward || o.backward)) {
    banner.textContent = o.forward
      ? `${t('overflow.forward', { k: o.forward })} ${t('overflow.states')}`
      : t('overflow.backward', { k: o.backward });
    banner.hidden = false;
    body.dataset.overflow = String(o.forward || o.backward);
  } else {
    banner.hidden = true;
    delete body.dataset.overflow;
  }
}

function showNotes() {
  const cfg = current.config;
  const notes = [];
  const prof = current.profile;
  const zeros = prof.dE_ds.filter((v) => v === 0).length;
  if (zeros > 0) notes.push(t('underflow', { n: zeros, T: cfg.T }));
  if (cfg.clip === 'global-norm') notes.push(t('note.global'));
  if (cfg.bidir && cfg.loss === 'last') notes.push(t('note.bidirLast'));
  const th = current.theory;
  const first = prof.dE_ds[0];
  const last = prof.dE_ds[prof.dE_ds.length - 1];
  if (th && th.regime === 'may-explode' && typeof first === 'number' && typeof last === 'number' && last > 0 && first / last < 1e-3) {
    notes.push(t('note.mayExplode', { gs: fmtNum(th.gamma * th.sigmaMax), r: fmtNum(first / last) }));
  }
  if (prof.cellPath) notes.push(t('note.lstmPaths', { f: fmtNum(1 / (1 + Math.exp(-cfg.forgetBias))) }));
  for (const p of pins) if (p.error) notes.push(t('pin.error', { msg: p.error }));
  if (requests.animating && reveal > 1) notes.push(t('animating', { k: Math.min(reveal, cfg.T), T: cfg.T }));
  $('notes').replaceChildren(...notes.map((n) => {
    const span = document.createElement('span');
    span.textContent = n;
    return span;
  }));
}

// exportPins are the pins with the names the legend shows, so that the
// server's figure reads like the screen.
function exportPins() {
  return pins.map((p) => ({
    settings: p.settings,
    label: pinLabel(p.res ? p.res.config : p.settings, settings),
  }));
}

// pinLabel names a pin by what differs from the current settings.
function pinLabel(ps, cur) {
  const text = describeDiff(ps, cur);
  if (!text) return t('pin.same');
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

function describeDiff(ps, cur) {
  const parts = [];
  for (const name of Object.keys(SETTINGS)) {
    if (ps[name] === cur[name]) continue;
    // Settings that do not apply to the pinned run would only add noise.
    if (name === 'act' && ps.cell !== 'rnn') continue;
    if (name === 'forgetBias' && ps.cell !== 'lstm') continue;
    if (name === 'threshold' && ps.clip === 'none') continue;
    parts.push(describe(name, ps[name]));
  }
  return parts.join(', ');
}

function describe(name, v) {
  switch (name) {
    case 'cell':
    case 'act':
    case 'init':
      return t(`opt.${name}.${v}`);
    case 'clip':
    case 'loss':
      return `${t(name)}: ${t(`opt.${name}.${v}`)}`;
    case 'bidir':
      return t(`opt.bidir.${v}`);
  }
  return `${t(`short.${name}`)}=${v}`;
}

// ---- bidirectional view and gradient map ----

function onAnalysis(msg) {
  const banner = msg.type === 'map' || lastAnalysisType() === 'map' ? $('map-error') : $('bidir-error');
  if (msg.type === 'error') {
    showServerError(msg, banner);
    return;
  }
  banner.hidden = true;
  controls.clearServerErrors();
  delete body.dataset.error;
  if (msg.type === 'sensitivity') {
    lastSensitivity = msg;
    if (view.tab === 'bidir') bidirPlot.render(msg, view.large);
    showBidirNotes(msg);
  } else if (msg.type === 'map') {
    lastMap = msg;
    if (view.tab === 'map') gmap.render(msg, view.large);
    $('map-hover').textContent = msg.steps.length < msg.config.T
      ? t('map.rows', { n: msg.steps.length, T: msg.config.T })
      : t('map.hover.none');
  }
}

function lastAnalysisType() {
  return analysis.last ? analysis.last.type : '';
}

function showBidirNotes(msg) {
  const sum = (a) => a.slice(msg.outputStep).reduce((s, v) => s + (typeof v === 'number' ? v : 0), 0);
  $('bidir-notes').textContent = t('bi.notes', { u: fmtNum(sum(msg.unidirectional)), b: fmtNum(sum(msg.bidirectional)) });
}

// syncOutputStep keeps the t slider within 1..T.
function syncOutputStep() {
  const T = settings.T;
  const step = outputStep();
  for (const el of [$('outputStep'), $('outputStep-num')]) {
    el.max = String(T);
    if (document.activeElement !== el) el.value = String(step);
  }
}

function setOutputStep(v) {
  if (!Number.isInteger(v) || v < 1) return;
  view.outputStep = Math.min(v, settings.T);
  syncOutputStep();
  updateURL();
  requestSensitivity();
}

// ---- training lab ----

function fillLabOptions() {
  const fill = (sel, values, prefix) => {
    sel.replaceChildren(...values.map((v) => {
      const o = document.createElement('option');
      o.value = v;
      o.dataset.i18n = `${prefix}${v}`;
      o.textContent = t(o.dataset.i18n);
      return o;
    }));
  };
  fill($('task'), LAB.task.values, 'lab.task.');
  fill($('optimizer'), LAB.optimizer.values, 'lab.opt.');
}

function setLabControls() {
  for (const name of Object.keys(LAB)) {
    if (document.activeElement !== $(name)) $(name).value = String(view.lab[name]);
  }
  for (const c of CELLS) $(`cell-${c}`).checked = view.lab.cells.includes(c);
  $('lab-chart').value = view.chart;
  $('lab-task-note').textContent = t(`lab.tasknote.${view.lab.task}`);
}

function trainMessage(cells, over = {}) {
  const s = { ...settings, ...over };
  const msg = { type: 'train' };
  for (const name of Object.keys(SETTINGS)) {
    if (name === 'D' || name === 'loss') continue; // the task decides
    msg[name] = s[name];
  }
  msg.cell = cells[0];
  msg.cells = cells;
  for (const name of Object.keys(LAB)) msg[name] = view.lab[name];
  msg.every = everyFor(view.lab.iterations);
  return msg;
}

function startTraining(cells = view.lab.cells, over = {}) {
  $('err-lab').hidden = true;
  if (!cells.length) {
    $('err-lab').textContent = t('lab.needCell');
    $('err-lab').hidden = false;
    return;
  }
  const msg = trainMessage(cells, over);
  const id = newId();
  const single = cells.length === 1;
  const label = lastTrain ? describeDiff(lastTrain, msg) : '';
  lab.begin(id, { ...msg, single });
  if (lab.previous) lab.previous.label = label ? `(${label})` : '';
  lastTrain = msg;
  if (!conn.send({ ...msg, id })) {
    lab.handle({ type: 'error', id, message: t('conn.lost', { s: 1 }) });
  }
}

function stopTraining() {
  sequence = null;
  lab.stopping();
  // Only the training: the profile, an animation and the analysis views
  // carry on.
  conn.send({ type: 'stop', id: newId(), what: 'training' });
}

function onTrainMessage(msg) {
  if (msg.type === 'error') {
    sequence = null;
    const text = errorText(msg, controls.limits);
    $('err-lab').textContent = t('error.general', { msg: text });
    $('err-lab').hidden = false;
    if (msg.field) controls.showError(msg.field, text, true);
  }
  if (msg.type === 'trainStart') {
    $('err-lab').hidden = true;
    controls.clearServerErrors();
  }
  lab.handle(msg);
  if (msg.type === 'progress') body.dataset.progress = String(lab.progressCount);
}

function onTrainState(state) {
  body.dataset.train = state;
  if (['finished', 'stopped', 'diverged', 'error'].includes(state)) {
    body.dataset.trainEnds = `${body.dataset.trainEnds ? `${body.dataset.trainEnds},` : ''}${state}`;
  }
  const running = ['starting', 'running', 'stopping'].includes(state);
  $('train-stop').disabled = !running || state === 'stopping';
  // A preset's chain goes on once a step has ended by itself.
  if ((state === 'finished' || state === 'diverged') && sequence) {
    const p = presetById(sequence.preset);
    sequence.step++;
    if (!p || view.preset !== p.id || sequence.step >= p.sequence.length) {
      sequence = null;
      return;
    }
    const over = p.sequence[sequence.step];
    Object.assign(settings, p.settings, over);
    controls.set(settings);
    stale.profile = stale.bidir = stale.map = true;
    updateURL();
    // Let the finished run's last report reach the screen first.
    setTimeout(() => startTraining(view.lab.cells), 300);
  }
}

function changeLab(name, value) {
  view.lab[name] = value;
  markPresetChanged();
  $('lab-task-note').textContent = t(`lab.tasknote.${view.lab.task}`);
  updateURL();
}

// ---- presets ----

function fillPresetOptions() {
  const sel = $('preset');
  const none = document.createElement('option');
  none.value = '';
  none.dataset.i18n = 'preset.none';
  sel.replaceChildren(none, ...PRESETS.map((p) => {
    const o = document.createElement('option');
    o.value = p.id;
    o.dataset.i18n = `preset.${p.id}.name`;
    return o;
  }));
  sel.value = view.preset;
}

function showPresetText() {
  const p = presetById(view.preset);
  $('preset').value = view.preset;
  $('preset-again').disabled = !p;
  $('preset-text').hidden = !p;
  if (!p) return;
  $('preset-name').textContent = t(`preset.${p.id}.name`);
  const paras = t(`preset.${p.id}.text`).split('\n').map((line) => {
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
}

function markPresetChanged() {
  if (!view.preset || presetChanged) return;
  presetChanged = true;
  showPresetText();
}

function applyPreset(id) {
  const p = presetById(id);
  view.preset = p ? p.id : '';
  presetChanged = false;
  if (!p) {
    showPresetText();
    updateURL();
    return;
  }
  inputSeq++;
  performance.mark(`gv-input-${inputSeq}`);
  Object.assign(settings, defaults, p.settings);
  // The view starts from its defaults too, so the picture is the text's.
  Object.assign(view, { x: 'step', states: false, jac: false, spectrum: true, chart: 'accuracy', outputStep: 0 }, p.view || {});
  view.lab = { ...labDefaults(), cells: [settings.cell], ...(p.lab || {}) };
  pins = (p.pins || []).map((ps) => ({ key: `p${++pinSerial}`, settings: { ...defaults, ...ps }, res: null, error: '' }));
  requests.clearPins();
  for (const pin of pins) requests.pin(pin.key, pin.settings);
  if (p.sequence) Object.assign(settings, p.sequence[0]);
  controls.set(settings);
  controls.clearServerErrors();
  $('advanced').open = ['loss', 'bidir', 'D', 'K'].some((n) => settings[n] !== defaults[n]);
  setLabControls();
  showPresetText();
  stale.profile = stale.bidir = stale.map = true;
  view.tab = p.tab;
  tabs.show(p.tab);
  applyView();
  showTab();
  if (p.train) {
    sequence = p.sequence ? { preset: p.id, step: 0 } : null;
    lastTrain = null;
    startTraining(view.lab.cells);
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
    const q = pageQuery(settings, presetChanged ? { ...view, preset: '' } : view, pins, defaults);
    history.replaceState(null, '', q ? `?${q}` : location.pathname);
    for (const b of document.querySelectorAll('.export')) {
      b.dataset.href = exportURL(b.dataset.format, settings, view, exportPins(), defaults);
    }
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
  $(view.x === 'back' ? 'x-back' : 'x-step').checked = true;
  $('states').checked = view.states;
  $('jac').checked = view.jac;
  $('show-spectrum').checked = view.spectrum;
  $('pin').disabled = pins.length >= MAX_PINS;
  $('pin').title = t(pins.length >= MAX_PINS ? 'pin.full' : 'pin.title');
  $('clear-pins').disabled = pins.length === 0;
  updateURL();
}

function changeView() {
  markPresetChanged();
  applyView();
  if (current) render(current.id);
}

// relabel redraws everything that holds text, after a language switch.
function relabel() {
  applyI18n(document);
  syncPlayButton();
  showPresetText();
  $('lab-task-note').textContent = t(`lab.tasknote.${view.lab.task}`);
  if (current) showReadout(current);
  changeView();
  if (lastSensitivity) {
    if (view.tab === 'bidir') bidirPlot.render(lastSensitivity, view.large);
    showBidirNotes(lastSensitivity);
  }
  if (lastMap && view.tab === 'map') gmap.render(lastMap, view.large);
  lab.show(view.tab === 'lab', view.large, view.chart);
  lab.relabel();
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
  for (const r of document.querySelectorAll('input[name="x"]')) {
    r.addEventListener('change', (e) => {
      view.x = e.target.value;
      changeView();
    });
  }
  $('states').addEventListener('change', (e) => {
    view.states = e.target.checked;
    changeView();
  });
  $('jac').addEventListener('change', (e) => {
    view.jac = e.target.checked;
    changeView();
    if (wantJacobians() && current && !current.profile.jacobianNorm) requestMain();
  });
  $('show-spectrum').addEventListener('change', (e) => {
    view.spectrum = e.target.checked;
    changeView();
  });
  $('pin').addEventListener('click', () => {
    if (!current || pins.length >= MAX_PINS) return;
    const s = {};
    for (const name of Object.keys(SETTINGS)) s[name] = current.config[name];
    pins.push({ key: `p${++pinSerial}`, settings: s, res: { config: current.config, profile: current.profile }, error: '' });
    changeView();
  });
  $('clear-pins').addEventListener('click', () => {
    pins = [];
    requests.clearPins();
    changeView();
  });
  $('play').addEventListener('click', () => {
    if (requests.animating) {
      // Stopping shows the whole profile again: a curve cut short with no
      // animation running would look like a broken run.
      requests.stopAnimation();
      reveal = 1;
      syncPlayButton();
      if (current) render(current.id);
    } else {
      play();
    }
  });
  for (const b of document.querySelectorAll('.export')) {
    b.addEventListener('click', () => download(b.dataset.format));
  }

  // Presets.
  $('preset').addEventListener('change', (e) => applyPreset(e.target.value));
  $('preset-again').addEventListener('click', () => applyPreset(view.preset));

  // Bidirectional view.
  $('outputStep').addEventListener('input', (e) => setOutputStep(Number(e.target.value)));
  $('outputStep-num').addEventListener('input', (e) => setOutputStep(Number(e.target.value)));

  // Training lab.
  for (const name of Object.keys(LAB)) {
    const el = $(name);
    el.addEventListener(el.tagName === 'SELECT' ? 'change' : 'input', () => {
      const v = parseLab(name, el.value);
      if (v === undefined) {
        $('err-lab').textContent = `${t(`lab.${name}`)}: ${t('error.number')}`;
        $('err-lab').hidden = false;
        el.setAttribute('aria-invalid', 'true');
        return;
      }
      el.removeAttribute('aria-invalid');
      $('err-lab').hidden = true;
      changeLab(name, v);
    });
  }
  for (const c of CELLS) {
    $(`cell-${c}`).addEventListener('change', () => {
      changeLab('cells', CELLS.filter((x) => $(`cell-${x}`).checked));
    });
  }
  $('lab-chart').addEventListener('change', (e) => {
    view.chart = e.target.value;
    updateURL();
    lab.show(view.tab === 'lab', view.large, view.chart);
  });
  $('train-start').addEventListener('click', () => {
    sequence = null;
    startTraining(view.lab.cells);
  });
  $('train-compare').addEventListener('click', () => {
    sequence = null;
    view.lab.cells = [...CELLS];
    setLabControls();
    updateURL();
    startTraining(view.lab.cells);
  });
  $('train-stop').addEventListener('click', stopTraining);
}

// download fetches the server's rendering of this view and saves it, so
// a missing or failing endpoint says why instead of saving an error page.
async function download(format) {
  const url = exportURL(format, settings, view, exportPins(), defaults);
  const status = $('status');
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
    a.download = `gradviz-${settings.cell}-${settings.cell === 'rnn' ? settings.act + '-' : ''}T${settings.T}.${format}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 30000);
    body.dataset.exported = format;
  } catch (err) {
    $('banner-error').textContent = t('export.failed', { msg: err.message });
    $('banner-error').hidden = false;
    body.dataset.exportError = err.message;
  }
  status.textContent = '';
}
