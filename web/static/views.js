// The page's views, one tab each, in tab order; the first is the default.
// Adding a tab is a module that exports a definition and one line below
// (plus its strings in i18n.js: tab.<name> and whatever it shows).
//
// A definition is { name, params, create(page) }: name is the tab's id
// (the URL's ?tab=, the button #tab-<name>, the panel #panel-<name>, the
// label tab.<name>); params, optional, names the view's own page state,
// kept in the URL like the rest ({ name: [values…] }, the first the
// default, read into view[name]); create returns the view, built once
// at start:
//
//   panel          its tabpanel: the one in index.html, or one the view
//                  built (tabs.js, makePanel), which the page then adds
//   messages       the server message types it receives (router.js)
//   owns(id)       whether id is one of its requests, for the messages
//                  every request may get (error, done)
//   receive(msg)   a message routed to it
//   request(settings, view)
//                  ask the server for its picture; called when its tab
//                  is shown and the settings changed since it asked
//   redraw()       draw again what it has, when its tab is shown again
//   relabel()      the language or text size changed
//   export(format) the server's URL for its picture as png, svg or csv
//
// and, each optional:
//
//   show(visible)  called for every view whenever the shown tab changes
//   syncView()     show the page's view state in the view's own controls
//   settingChanged(name, value)
//                  the user moved a setting
//   urlWritten()   the URL was written (links that carry the state)
//   connected(), disconnected()
//                  the socket opened (again), or closed
//   unowned(msg)   a message no view owns (an error without an id)
//
// The page object each create receives is described in app.js.

import { profile } from './profile.js';
import { lab } from './labview.js';
import { bidir } from './bidir.js';
import { map } from './gmap.js';
import { phase } from './phase.js';
import { lang } from './langlab.js';

export const VIEWS = [profile, lab, bidir, map, phase, lang];
