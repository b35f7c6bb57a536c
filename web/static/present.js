// Present mode, for a lecture: the plot of the current tab fills the
// screen and the guided tour's text stands beside it (landscape) or
// below it (portrait), in type a room can read, with "3 / 12" for the
// step. → PageDown Space go on, ← PageUp go back (what a presentation
// clicker sends), Esc leaves. A text longer than its box (a 4:3 screen
// has room for about 550 characters at 24 px beside the plot) turns
// page by page first: → shows its next lines, ▼ saying there are more,
// and only then the next step; ← pages back the same way. The header's Present button also asks for
// full screen; the layout does not need it (a browser may refuse).
// ?present=1 in the URL starts in present mode.
//
// It drives the tour only through tour.js (tourSteps, currentStep,
// goToStep and the `tour-step` event).

import { t, addStrings } from './i18n.js';
import { tourSteps, currentStep, goToStep, say } from './tour.js';

addStrings({
  en: {
    'present': 'Present',
    'present.title': 'Show the plot and the guided tour full screen, for a lecture: → or PageDown next step, ← or PageUp previous, Esc leaves',
    'present.aria': 'Guided tour',
    'present.prev': 'Previous step',
    'present.next': 'Next step',
    'present.exit': 'Leave present mode (Esc)',
    'present.count': 'Step {i} of {n}',
    'present.more': 'More text: → shows it',
  },
  es: {
    'present': 'Presentar',
    'present.title': 'Mostrar el gráfico y la visita guiada a pantalla completa, para una clase: → o AvPág paso siguiente, ← o RePág anterior, Esc para salir',
    'present.aria': 'Visita guiada',
    'present.prev': 'Paso anterior',
    'present.next': 'Paso siguiente',
    'present.exit': 'Salir del modo presentación (Esc)',
    'present.count': 'Paso {i} de {n}',
    'present.more': 'El texto continúa: → lo muestra',
  },
});

const root = document.documentElement;

// initPresent adds present mode to the page (app.js's page object: view,
// updateURL, relabel) and starts it when the URL asks.
export function initPresent(page) {
  const side = buildSide();
  document.querySelector('.layout').append(side.el);
  let largeBefore = page.view.large;
  let askedFullscreen = false;

  function show() {
    const steps = tourSteps();
    const i = currentStep();
    const step = steps[i];
    side.count.textContent = step ? `${i + 1} / ${steps.length}` : `– / ${steps.length}`;
    side.count.setAttribute('aria-label', step ? t('present.count', { i: i + 1, n: steps.length }) : '');
    side.name.textContent = step ? say(step.title) : '';
    // A prediction is asked first, before the text that explains it.
    const [predict, panel] = extras();
    side.text.replaceChildren(...(predict ? [predict] : []), ...(step ? say(step.text).split('\n') : []).map((line) => {
      const p = document.createElement('p');
      p.textContent = line;
      return p;
    }), ...(panel ? [panel] : []));
    side.text.scrollTop = 0;
    fit();
    root.dataset.presentStep = String(i);
  }

  // fit makes the text's box a whole number of lines, so a page of text
  // never shows half a line, and marks what is left to read.
  function fit() {
    const lh = lineHeight();
    const room = side.body.clientHeight;
    if (lh > 0 && room > 0) side.text.style.height = `${Math.max(lh, Math.floor(room / lh) * lh)}px`;
    marks();
  }

  function lineHeight() {
    return parseFloat(getComputedStyle(side.text).lineHeight) || 0;
  }

  const moreBelow = () => side.text.scrollTop + side.text.clientHeight < side.text.scrollHeight - 2;
  const moreAbove = () => side.text.scrollTop > 1;

  function marks() {
    const i = currentStep();
    const below = moreBelow();
    side.more.hidden = !below;
    side.el.dataset.more = below ? 'below' : '';
    side.prev.disabled = i <= 0 && !moreAbove();
    side.next.disabled = i >= tourSteps().length - 1 && !below;
  }

  // turn pages the text by one box less a line, then steps.
  function turn(by) {
    const t = side.text;
    const page = Math.max(lineHeight(), t.clientHeight - lineHeight());
    if (by > 0 && moreBelow()) t.scrollTop += page;
    else if (by < 0 && moreAbove()) t.scrollTop -= page;
    else {
      step(by);
      return;
    }
    marks();
  }

  function enter() {
    if (page.view.present && root.classList.contains('present')) return;
    page.view.present = true;
    largeBefore = page.view.large;
    // Type for a projector: the views draw their labels large too.
    page.view.large = true;
    root.classList.add('present');
    side.el.hidden = false;
    if (currentStep() < 0) goToStep(0);
    page.relabel();
    show();
    page.updateURL();
  }

  // A step's prediction and its worked example (the BPTT panel) belong
  // to its text: while presenting they are read, and used, in the side.
  const home = new Map();
  function extras() {
    return ['tour-predict', 'tour-panel'].map((id) => {
      const el = document.getElementById(id);
      if (el && !home.has(id)) home.set(id, { parent: el.parentNode, next: el.nextSibling });
      return el;
    });
  }
  function restore() {
    for (const [id, { parent, next }] of home) {
      const el = document.getElementById(id);
      if (el) parent.insertBefore(el, next && next.parentNode === parent ? next : null);
    }
    home.clear();
  }

  function leave() {
    if (!page.view.present) return;
    restore();
    page.view.present = false;
    page.view.large = largeBefore;
    root.classList.remove('present');
    side.el.hidden = true;
    delete root.dataset.presentStep;
    page.relabel();
    page.updateURL();
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    askedFullscreen = false;
  }

  function step(by) {
    const i = currentStep();
    const next = i < 0 ? 0 : i + by;
    if (next < 0 || next >= tourSteps().length || next === i) return;
    goToStep(next);
  }

  const button = document.getElementById('present');
  button.addEventListener('click', () => {
    enter();
    // Full screen needs the click; without it (refused, or a browser
    // without the API) present mode fills the window instead.
    if (root.requestFullscreen && !document.fullscreenElement) {
      askedFullscreen = true;
      root.requestFullscreen().catch(() => { askedFullscreen = false; });
    }
  });
  // Esc in full screen is the browser's: it leaves full screen without a
  // keydown, and present mode leaves with it.
  document.addEventListener('fullscreenchange', () => {
    if (!document.fullscreenElement && askedFullscreen) leave();
  });
  side.prev.addEventListener('click', () => turn(-1));
  side.next.addEventListener('click', () => turn(1));
  side.text.addEventListener('scroll', marks);
  new ResizeObserver(() => { if (page.view.present) fit(); }).observe(side.body);
  side.exit.addEventListener('click', leave);

  document.addEventListener('keydown', (e) => {
    if (!page.view.present || e.altKey || e.ctrlKey || e.metaKey) return;
    // A control in the text (the prediction's guess) keeps its own keys.
    if (e.target instanceof Element && e.target !== document.body && side.text.contains(e.target) && e.key !== 'Escape') return;
    switch (e.key) {
      case 'ArrowRight':
      case 'PageDown':
      case ' ':
        turn(1);
        break;
      case 'ArrowLeft':
      case 'PageUp':
        turn(-1);
        break;
      case 'Escape':
        leave();
        break;
      default:
        return;
    }
    e.preventDefault();
  });

  document.addEventListener('tour-step', () => {
    if (page.view.present) show();
  });

  return {
    enter,
    leave,
    // relabel shows the step again in the page's new language.
    relabel() { if (page.view.present) show(); },
    start() { if (page.view.present) { page.view.present = false; enter(); } },
  };
}

function buildSide() {
  const el = document.createElement('aside');
  el.className = 'present-side';
  el.id = 'present-side';
  el.hidden = true;
  el.dataset.i18nAriaLabel = 'present.aria';
  const head = document.createElement('div');
  head.className = 'present-head';
  const count = document.createElement('p');
  count.className = 'present-count';
  count.id = 'present-count';
  const nav = document.createElement('div');
  nav.className = 'present-nav';
  const button = (id, text, label) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.id = id;
    b.textContent = text;
    b.dataset.i18nAriaLabel = label;
    b.dataset.i18nTitle = label;
    return b;
  };
  const prev = button('present-prev', '←', 'present.prev');
  const next = button('present-next', '→', 'present.next');
  const exit = button('present-exit', '✕', 'present.exit');
  nav.append(prev, next, exit);
  head.append(count, nav);
  const name = document.createElement('h2');
  name.className = 'present-name';
  name.id = 'present-name';
  const body = document.createElement('div');
  body.className = 'present-body';
  const text = document.createElement('div');
  text.className = 'present-text';
  text.id = 'present-text';
  text.setAttribute('aria-live', 'polite');
  body.append(text);
  const more = document.createElement('p');
  more.className = 'present-more';
  more.id = 'present-more';
  more.textContent = '▼';
  more.dataset.i18nTitle = 'present.more';
  more.hidden = true;
  el.append(head, name, body, more);
  return { el, count, name, body, text, more, prev, next, exit };
}
