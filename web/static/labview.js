// The training lab's view: its controls, the train and stop messages,
// and the streamed answers, drawn by Lab (lab.js).

import { t } from './i18n.js';
import { SETTINGS, LAB, CELLS, parseLab } from './url.js';
import { newId } from './socket.js';
import { Lab, everyFor } from './lab.js';
import { describeDiff } from './profile.js';

const $ = (id) => document.getElementById(id);
const body = document.body;

export const lab = { name: 'lab', create };

function create(page) {
  const { settings, view, controls } = page;
  let lastTrain = null; // the train message last sent

  const chart = new Lab({
    loss: $('lab-loss'), lossLegend: $('lab-loss-legend'), side: $('lab-side'), sideLegend: $('lab-side-legend'),
    heat: $('lab-heat'), heatLegend: $('lab-heat-legend'), table: $('lab-table'), tableBody: $('lab-tbody'),
    status: $('lab-status'), banner: $('lab-banner'), summary: $('lab-summary'),
  }, { onState: onTrainState });

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
    chart.begin(id, { ...msg, single });
    if (chart.previous) chart.previous.label = label ? `(${label})` : '';
    lastTrain = msg;
    if (!page.conn.send({ ...msg, id })) {
      chart.handle({ type: 'error', id, message: t('conn.lost', { s: 1 }) });
    }
  }

  // exportRun downloads /api/train.json for the lab's settings: the
  // server trains the same run again and writes everything a replay
  // needs.
  async function exportRun() {
    $('err-lab').hidden = true;
    if (!view.lab.cells.length) {
      $('err-lab').textContent = t('lab.needCell');
      $('err-lab').hidden = false;
      return;
    }
    const msg = trainMessage(view.lab.cells);
    const q = new URLSearchParams();
    for (const [name, v] of Object.entries(msg)) {
      if (name === 'type' || name === 'every' || name === 'cell') continue;
      q.set(name, Array.isArray(v) ? v.join(',') : String(v));
    }
    q.set('cell', msg.cell);
    const status = $('lab-export-status');
    status.textContent = t('lab.export.busy');
    $('train-export').disabled = true;
    await page.download(`/api/train.json?${q}`, `gradviz-training-${view.lab.task}.json`, { status, banner: $('err-lab') });
    $('train-export').disabled = false;
  }

  function stopTraining() {
    page.sequence = null;
    chart.stopping();
    // Only the training: the profile, an animation and the analysis views
    // carry on.
    page.conn.send({ type: 'stop', id: newId(), what: 'training' });
  }

  function onTrainMessage(msg) {
    if (msg.type === 'error') {
      page.sequence = null;
      const text = page.errorText(msg);
      $('err-lab').textContent = t('error.general', { msg: text });
      $('err-lab').hidden = false;
      if (msg.field) controls.showError(msg.field, text, true);
    }
    if (msg.type === 'trainStart') {
      $('err-lab').hidden = true;
      controls.clearServerErrors();
    }
    chart.handle(msg);
    if (msg.type === 'progress') body.dataset.progress = String(chart.progressCount);
  }

  function onTrainState(state) {
    body.dataset.train = state;
    if (['finished', 'stopped', 'diverged', 'error'].includes(state)) {
      body.dataset.trainEnds = `${body.dataset.trainEnds ? `${body.dataset.trainEnds},` : ''}${state}`;
    }
    const running = ['starting', 'running', 'stopping'].includes(state);
    $('train-stop').disabled = !running || state === 'stopping';
    // A preset's chain goes on once a step has ended by itself.
    if (state === 'finished' || state === 'diverged') page.trainingEnded();
  }

  function changeLab(name, value) {
    view.lab[name] = value;
    if (name === 'cells') controls.updateEnabled(settings);
    page.markPresetChanged();
    $('lab-task-note').textContent = t(`lab.tasknote.${view.lab.task}`);
    page.updateURL();
  }

  const show = () => chart.show(view.tab === 'lab', view.large, view.chart);

  fillLabOptions();
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
  // One checkbox per model, in the registry's order.
  for (const c of CELLS) {
    const box = document.createElement('span');
    box.className = 'check';
    const input = Object.assign(document.createElement('input'), { type: 'checkbox', id: `cell-${c}`, value: c });
    const label = Object.assign(document.createElement('label'), { htmlFor: `cell-${c}`, textContent: t(`opt.cell.${c}`) });
    label.dataset.i18n = `opt.cell.${c}`;
    box.append(input, label);
    $('cells').append(box);
  }
  for (const c of CELLS) {
    $(`cell-${c}`).addEventListener('change', () => {
      changeLab('cells', CELLS.filter((x) => $(`cell-${x}`).checked));
    });
  }
  $('lab-chart').addEventListener('change', (e) => {
    view.chart = e.target.value;
    page.updateURL();
    show();
  });
  $('train-start').addEventListener('click', () => {
    page.sequence = null;
    startTraining(view.lab.cells);
  });
  $('train-compare').addEventListener('click', () => {
    page.sequence = null;
    view.lab.cells = [...CELLS];
    setLabControls();
    controls.updateEnabled(settings);
    page.updateURL();
    startTraining(view.lab.cells);
  });
  $('train-stop').addEventListener('click', stopTraining);
  $('train-export').addEventListener('click', exportRun);

  return {
    name: 'lab',
    panel: $('panel-lab'),
    messages: ['trainStart', 'progress', 'trainDone'],
    owns: (id) => chart.owns(id),
    receive(msg) {
      if (chart.owns(msg.id)) onTrainMessage(msg);
    },
    redraw() {},
    show,
    relabel() {
      $('lab-task-note').textContent = t(`lab.tasknote.${view.lab.task}`);
      show();
      chart.relabel();
    },
    // A lab training one cell follows the Cell control.
    settingChanged(name, value) {
      if (name === 'cell' && view.lab.cells.length === 1) {
        view.lab.cells = [value];
        setLabControls();
        controls.updateEnabled(settings);
      }
    },
    disconnected: () => chart.lost(),
    syncControls: setLabControls,
    // train starts a training; fresh forgets the last one, whose
    // difference would otherwise label the faded curve.
    train(cells, { over = {}, fresh = false } = {}) {
      if (fresh) lastTrain = null;
      startTraining(cells, over);
    },
  };
}
