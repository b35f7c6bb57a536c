// The settings schema, as the server sends it in the page's bootstrap
// block (engine.SettingsSchema): for every setting its protocol name,
// kind, options or bounds, default, the models it applies to, the
// setting that can make it idle, and its label, short name and help in
// each language. The page's URL, its controls and its dictionary take
// the settings from here, so none of them keeps a list of its own.

const boot = JSON.parse(document.getElementById('bootstrap').textContent);

// SCHEMA is every setting in the protocol's order.
export const SCHEMA = boot.schema;

// LAB_OPTION_LABELS names the training lab's tasks and optimizers in each
// language: { task: { recall: { en, es } … }, optimizer: { … } }.
export const LAB_OPTION_LABELS = boot.labOptions;

// SPEC finds a setting's entry by its name.
export const SPEC = Object.fromEntries(SCHEMA.map((spec) => [spec.name, spec]));

// appliesTo reports whether the setting affects a run of the model cell.
export function appliesTo(name, cell) {
  return SPEC[name].appliesTo.includes(cell);
}

// active reports whether the setting affects the run of settings s: it
// applies to s.cell and no other setting makes it idle (the threshold
// while nothing is clipped).
export function active(name, s) {
  if (!appliesTo(name, s.cell)) return false;
  const idle = SPEC[name].idleWhen;
  return !(idle && idle.values.includes(String(s[idle.setting])));
}
