// gradviz page: wires the controls, the websocket and the plot together.
// State lives in three places kept in step: `settings` and `view` here,
// the controls, and the URL (so a copied link reproduces the view).

import { t, setLang, applyI18n } from './i18n.js';
import { SETTINGS, MAX_PINS, readPage, pageQuery, exportURL } from './url.js';
import { Connection, Requests } from './socket.js';
import { Plot, PIN_COLORS } from './plot.js';
import { Controls } from './controls.js';
import { showReadout } from './readout.js';

const $ = (id) => document.getElementById(id);
const body = document.body;

const boot = JSON.parse($('bootstrap').textContent);
const defaults = boot.defaults;
const options = boot.options;

const page = readPage(location.search, defaults, options);
const settings = page.settings;
const view = page.view;
let pinSerial = 0;
let pins = page.pins.map((s) => ({ key: `p${++pinSerial}`, settings: s, res: null, error: '' }));

let current = null; // the newest profile message shown
let reveal = 1; // first step drawn; T+1 at the start of an animation
let pendingDraw = null; // what the next plot draw completes
let inputSeq = 0; // user changes, for performance marks
let measuredSeq = 0;
let urlTimer = 0; // a pending URL update
let urlAt = 0; // when the URL was last written

setLang(view.lang);
applyI18n(document);

const controls = new Controls({ options, limits: boot.limits, onChange });
const plot = new Plot({
  el: $('plot'), legend: $('legend'), jacEl: $('jacplot'), jacLegend: $('jaclegend'), onDraw,
});

const wsURL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
let downTimer = 0;
const conn = new Connection(wsURL, {
  onOpen() {
    clearInterval(downTimer);
    $('banner-conn').hidden = true;
    body.dataset.connected = 'true';
    requests.reconnected();
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
  },
  onMessage(msg) {
    if (msg.type === 'hello') {
      controls.applyLimits(msg.limits);
      controls.set(settings);
      return;
    }
    requests.handle(msg);
  },
});

const requests = new Requests(conn, {
  onMain,
  onPin,
  onBusy: setBusy,
  pinSettings: (key) => pins.find((p) => p.key === key)?.settings,
});

// Start: show the state from the URL, ask for the plot, then the pins.
controls.set(settings);
if (['loss', 'bidir', 'D', 'K'].some((n) => settings[n] !== defaults[n])) $('advanced').open = true;
applyView();
requestMain();
for (const p of pins) requests.pin(p.key, p.settings);
bindPageControls();

// ---- settings → server ----

function onChange(name, value) {
  // A log slider maps neighbouring positions to the same length.
  if (settings[name] === value && !body.dataset.error) return;
  inputSeq++;
  performance.mark(`gv-input-${inputSeq}`);
  settings[name] = value;
  controls.updateEnabled(settings);
  updateURL();
  requestMain();
}

function requestMain() {
  const msg = { type: 'config' };
  for (const name of Object.keys(SETTINGS)) msg[name] = settings[name];
  requests.main(msg, { inputSeq });
  syncPlayButton();
}

function play() {
  const msg = { type: 'animate', stepsPerSecond: Number($('speed').value) };
  for (const name of Object.keys(SETTINGS)) msg[name] = settings[name];
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

// ---- server → plot ----

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
      showServerError(msg);
      break;
  }
  syncPlayButton();
}

function showServerError(msg) {
  body.dataset.error = msg.field || 'general';
  if (msg.field && controls.showError(msg.field, msg.message, true)) {
    // The message is by its control; say why the plot did not change.
    $('banner-error').textContent = t('error.stale');
  } else {
    $('banner-error').textContent = t('error.general', { msg: msg.message });
  }
  $('banner-error').hidden = false;
}

function onPin(key, msg) {
  const pin = pins.find((p) => p.key === key);
  if (!pin) return;
  if (msg.type === 'profile') {
    pin.res = { config: msg.config, profile: { dE_ds: msg.profile.dE_ds } };
    pin.error = '';
  } else {
    pin.error = msg.message;
  }
  if (current) render(current.id);
}

function setBusy(on) {
  body.classList.toggle('busy', on);
  $('status').textContent = on ? t('computing') : '';
}

// ---- drawing ----

function render(id) {
  if (!current) return;
  const shownPins = pins.map((p, i) => ({
    label: pinLabel(p.res ? p.res.config : p.settings, current.config),
    color: PIN_COLORS[i % PIN_COLORS.length],
    res: p.res,
  }));
  pendingDraw = { id, config: current.config, pins: pins.filter((p) => p.res).length, seq: requests.last?.meta?.inputSeq ?? 0 };
  plot.render({ res: current, pins: shownPins, view, reveal });
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
  const zeros = current.profile.dE_ds.filter((v) => v === 0).length;
  if (zeros > 0) notes.push(t('underflow', { n: zeros, T: cfg.T }));
  if (cfg.clip === 'global-norm') notes.push(t('note.global'));
  if (cfg.bidir && cfg.loss === 'last') notes.push(t('note.bidirLast'));
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
  const parts = [];
  for (const name of Object.keys(SETTINGS)) {
    if (ps[name] === cur[name]) continue;
    // Settings that do not apply to the pinned run would only add noise.
    if (name === 'act' && ps.cell !== 'rnn') continue;
    if (name === 'forgetBias' && ps.cell !== 'lstm') continue;
    if (name === 'threshold' && ps.clip === 'none') continue;
    parts.push(describe(name, ps[name]));
  }
  if (parts.length === 0) return t('pin.same');
  const text = parts.join(', ');
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
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

// ---- page state ----

// updateURL keeps the address bar in step, at most ten times a second:
// browsers throttle faster history updates.
function updateURL() {
  const write = () => {
    urlAt = performance.now();
    urlTimer = 0;
    const q = pageQuery(settings, view, pins, defaults);
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
  $('pin').disabled = pins.length >= MAX_PINS;
  $('pin').title = t(pins.length >= MAX_PINS ? 'pin.full' : 'pin.title');
  $('clear-pins').disabled = pins.length === 0;
  updateURL();
}

function changeView() {
  applyView();
  if (current) render(current.id);
}

function bindPageControls() {
  $('controls').addEventListener('submit', (e) => e.preventDefault());
  $('lang').addEventListener('change', (e) => {
    view.lang = setLang(e.target.value);
    applyI18n(document);
    syncPlayButton();
    if (current) showReadout(current);
    changeView();
  });
  $('large').addEventListener('click', () => {
    view.large = !view.large;
    changeView();
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
  });
  $('pin').addEventListener('click', () => {
    if (!current || pins.length >= MAX_PINS) return;
    const s = {};
    for (const name of Object.keys(SETTINGS)) s[name] = current.config[name];
    pins.push({ key: `p${++pinSerial}`, settings: s, res: { config: current.config, profile: { dE_ds: current.profile.dE_ds } }, error: '' });
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
      requests.stop();
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
        message = (await resp.json()).message || message;
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
