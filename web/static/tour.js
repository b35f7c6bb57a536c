// The guided tour as steps: a thin layer over the presets (presets.js,
// applied by app.js through the #preset select), so other modules, the
// present mode among them, step through it without knowing how a step
// is applied.
//
//   tourSteps()    the steps, in order: { id, tab, name, text }, name and
//                  text in the page's current language
//   currentStep()  the index of the step the page shows, -1 for none
//   goToStep(i)    show step i (clamped to the tour)
//
// Whenever the step changes, `document` gets a `tour-step` event whose
// detail is { index, count, step }.

import { t } from './i18n.js';
import { PRESETS } from './presets.js';

const steps = PRESETS.map((p) => ({
  id: p.id,
  tab: p.tab,
  get name() { return t(`preset.${p.id}.name`); },
  get text() { return t(`preset.${p.id}.text`); },
}));

const select = () => document.getElementById('preset');

export function tourSteps() {
  return steps;
}

export function currentStep() {
  const sel = select();
  return sel ? steps.findIndex((s) => s.id === sel.value) : -1;
}

export function goToStep(i) {
  const sel = select();
  if (!sel || !steps.length) return;
  const index = Math.max(0, Math.min(steps.length - 1, Math.trunc(i) || 0));
  sel.value = steps[index].id;
  // The page applies the preset on the select's change, as when the
  // user picks it.
  sel.dispatchEvent(new Event('change', { bubbles: true }));
  announce();
}

function announce() {
  const index = currentStep();
  document.dispatchEvent(new CustomEvent('tour-step', {
    detail: { index, count: steps.length, step: steps[index] ?? null },
  }));
}

// A step the user picks or applies again is announced as well, once the
// page has applied it.
document.addEventListener('change', (e) => {
  if (e.isTrusted && e.target === select()) setTimeout(announce);
});
document.addEventListener('click', (e) => {
  if (e.target instanceof Element && e.target.closest('#preset-again')) setTimeout(announce);
});
