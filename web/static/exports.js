// The analysis views' export buttons: "Export PNG/SVG/PDF/CSV", each a
// link to the server's drawing of exactly what the view shows (its
// settings, its own fields, the page's language), downloaded through
// page.download so that a failure says why.

import { SETTINGS, settingsQuery } from './url.js';
import { appliesTo } from './schema.js';

export const FORMATS = ['png', 'svg', 'pdf', 'csv'];

// exportButtons returns a button per format with ids <prefix>-export-<f>.
// named says the buttons share a tab with others of their kind: their
// accessible name is then "export.<prefix>.<f>" (Export spectrum PNG).
export function exportButtons(prefix, named = false, formats = FORMATS) {
  return formats.map((f) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.id = `${prefix}-export-${f}`;
    b.className = 'export';
    b.dataset.format = f;
    b.dataset.i18n = `export${f.toUpperCase()}`;
    b.dataset.i18nTitle = 'export.title';
    if (named) b.dataset.i18nAriaLabel = `export.${prefix}.${f}`;
    return b;
  });
}

// viewExportURL is /api/<view>.<format> with every setting that applies
// to the model, the view's own fields and the language.
export function viewExportURL(view, format, settings, defaults, lang, fields = {}) {
  const p = settingsQuery(settings, defaults, Object.keys(SETTINGS));
  for (const name of Object.keys(SETTINGS)) if (!appliesTo(name, settings.cell)) p.delete(name);
  for (const [k, v] of Object.entries(fields)) p.set(k, String(v));
  p.set('lang', lang);
  if (format !== 'csv') {
    p.set('w', '1600');
    p.set('h', '900');
  }
  return `/api/${view}.${format}?${p}`;
}

// bindExports makes buttons download url(format) as name(format) and
// keeps their data-href current (refresh()).
export function bindExports(page, buttons, url, name, { status, banner }) {
  for (const b of buttons) {
    b.addEventListener('click', () => page.download(url(b.dataset.format), name(b.dataset.format), { status, banner }));
  }
  return function refresh() {
    for (const b of buttons) b.dataset.href = url(b.dataset.format);
  };
}

// viewFileName is the server's name for a view's export.
export function viewFileName(view, settings, format) {
  const act = appliesTo('act', settings.cell) ? `-${settings.act}` : '';
  return `gradviz-${view}-${settings.cell}${act}-T${settings.T}.${format}`;
}
