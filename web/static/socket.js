// The websocket to /ws: reconnects with backoff, and schedules requests
// so that dragging a slider stays smooth. The server runs one request per
// socket and cancels the older one when a newer arrives, so:
//   - the main plot's request goes out at once when none is in flight,
//     else at most once per animation frame, and only when the previous
//     one has been answered (or is slow, then the newer one supersedes it);
//   - pinned runs go out one at a time while the main plot is idle, and
//     are sent again if a main request cancelled them.

import { t, has } from './i18n.js';
import { appliesTo, SPEC } from './schema.js';
import { LAB } from './url.js';
import { fmtExact } from './numbers.js';
import { rangeText } from './numbox.js';

const backoffMs = [500, 1000, 2000, 4000, 8000];
// supersedeAfterMs: an answer slower than this, and than twice the last
// round trip, is cancelled by a newer request instead of waited for.
// Cancelling sooner would starve a slow run: while a slider moves, no
// answer would ever arrive.
const supersedeAfterMs = 250;
// rateRetryMs: after the server's rate-limit error, resend the newest
// request this much later.
const rateRetryMs = 1000;

// Ids are unique across the page's requests, so an answer finds its owner.
let lastId = 0;
export function newId() {
  return ++lastId;
}

// wireSettings leaves out what the server would refuse as unused: a gated
// cell has no activation (linear is for models with one), though the
// page keeps the choice for when the cell has one again.
export function wireSettings(obj) {
  if (obj.cell === undefined || appliesTo('act', obj.cell) || !('act' in obj)) return obj;
  const { act, ...rest } = obj;
  return rest;
}

// isRateLimited reports a server error that dropped our message: the
// server's rate limit, which the page answers by sending it again.
export function isRateLimited(msg) {
  return msg.type === 'error' && msg.code === 'too-many-messages';
}

// errorText says a server error, a websocket error message or an HTTP
// error body, in the page's language. A field's bad value reads as the
// page's own checks read ("Gain: must be between 0 and 100 (you entered
// 101)"), with the range and the value taken from the server's message;
// any other error is its code's sentence, with the field named by its
// label and the server's limits (hello's) filled in. A code this page
// does not know yet shows the server's own text.
export function errorText(err, limits = {}) {
  const key = `error.code.${err.code}`;
  if (!err.code || !has(key)) return err.message || '';
  if (err.field && (err.code === 'bad-field' || err.code === 'training-limit')) {
    const text = fieldText(err);
    if (text) return text;
  }
  const train = limits.train || {};
  const lang = limits.lang || {};
  return t(key, {
    field: fieldLabel(err.field), message: err.message || '', work: limits.work ?? '',
    trainT: train.T ?? '', trainH: train.H ?? '', batch: train.batch ?? '', iterations: train.iterations ?? '',
    langDistance: lang.distance ?? '', langH: lang.H ?? '', langEmbed: lang.embed ?? '', langBatch: lang.batch ?? '', langIterations: lang.iterations ?? '',
  });
}

// The shapes of the server's messages about a value out of its range
// (engine/schema.go, api/settings.go, api/lab.go), after "<field> ".
const NUM = '(-?[\\d.]+(?:e[+-]?\\d+)?)';
const RANGES = [
  { re: new RegExp(`must be ${NUM}\\.\\.${NUM}, got "?([^"]*)"?$`), bounds: (m) => ({ lo: m[1], hi: m[2] }) },
  { re: new RegExp(`must be a whole number from ${NUM} to ${NUM}, got "?([^"]*)"?$`), bounds: (m) => ({ lo: m[1], hi: m[2], int: true }) },
  { re: new RegExp(`must be greater than ${NUM} and at most ${NUM}, got "?([^"]*)"?$`), bounds: (m) => ({ lo: m[1], hi: m[2], minExclusive: true }) },
];

// fieldText words a server's field error as the page's own check would,
// or returns '' for a message of another shape.
function fieldText(err) {
  const message = err.message || '';
  const field = fieldLabel(err.field);
  const option = /must be one of .*, got "(.*)"$/.exec(message);
  if (option) return t('error.field.option', { field, value: option[1] });
  for (const { re, bounds } of RANGES) {
    const m = re.exec(message);
    if (!m) continue;
    const b = bounds(m);
    const spec = SPEC[err.field] ?? LAB[err.field];
    const int = b.int || (spec ? spec.kind === 'int' || spec.kind === 'uint' : false);
    const got = Number(m[3]);
    const number = m[3] !== '' && Number.isFinite(got);
    return rangeText(field, {
      lo: Number(b.lo), hi: Number(b.hi), minExclusive: !!b.minExclusive, training: err.code === 'training-limit',
    }, number ? fmtExact(got) : m[3], int && number && !Number.isInteger(got));
  }
  return '';
}

// fieldLabel names a field of a request as its control does.
function fieldLabel(field) {
  if (!field) return '';
  if (SPEC[field]) return t(field);
  for (const key of [`lab.${field}`, field === 'outputStep' ? 'bi.t' : field]) {
    if (has(key)) return t(key);
  }
  return field;
}

export class Connection {
  // handlers: onOpen(), onMessage(msg), onDown(retryInSeconds)
  constructor(url, handlers) {
    this.url = url;
    this.h = handlers;
    this.ws = null;
    this.failures = 0;
    this.open = false;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.open = true;
      this.failures = 0;
      this.h.onOpen();
    });
    ws.addEventListener('message', (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.h.onMessage(msg);
    });
    ws.addEventListener('close', () => {
      this.open = false;
      const delay = backoffMs[Math.min(this.failures, backoffMs.length - 1)];
      this.failures++;
      this.h.onDown(Math.ceil(delay / 1000));
      setTimeout(() => this.connect(), delay);
    });
  }

  send(obj) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(wireSettings(obj)));
    return true;
  }
}

// Patient keeps one request in flight: a newer request waits for the
// answer to the older unless that answer is slow, because the server
// cancels a superseded run and a slider that keeps moving would then
// never see a plot. When nothing is in flight a request leaves at once,
// after the changes of the same task (the next frame would add up to
// 16 ms to every change); else at most one leaves per animation frame.
// Subclasses set waiting, sentAt and roundTrip and implement flush.
class Patient {
  constructor() {
    this.waiting = false; // the request in flight has no answer yet
    this.sentAt = 0;
    this.roundTrip = 0; // ms, of the last answered request
    this.frame = 0;
    this.soon = false; // a flush is queued for the end of this task
    this.retryTimer = 0;
  }

  schedule() {
    if (this.frame || this.soon) return;
    if (!this.waiting) {
      this.soon = true;
      queueMicrotask(() => {
        this.soon = false;
        this.flush();
      });
      return;
    }
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.flush();
    });
  }

  // holdOn reports whether to keep waiting for the answer in flight
  // rather than supersede it; one later check then catches a slow answer.
  holdOn() {
    const waited = performance.now() - this.sentAt;
    const patience = Math.max(supersedeAfterMs, 2 * this.roundTrip);
    if (!this.waiting || waited >= patience) return false;
    if (!this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = 0;
        this.schedule();
      }, patience - waited);
    }
    return true;
  }
}

// Requests owns the ids. handlers: onMain(msg, meta) for answers to the
// newest main request (profile, jacobians, frame, done, error), onPin(key, msg) for
// answers to pins, onBusy(bool) when the main answer takes long,
// onSend(meta) when a main request leaves, pinSettings(key) for a pin to
// send again.
export class Requests extends Patient {
  constructor(conn, handlers) {
    super();
    this.conn = conn;
    this.h = handlers;
    this.want = null; // {msg, meta}: the main request not yet sent
    this.last = null; // {msg, meta}: the newest main request sent
    this.mainId = 0; // its id: answers to other main ids are dropped
    this.animating = false;
    this.pinQueue = []; // [{key, settings}]
    this.pinInflight = null; // {id, key}
    this.pinIds = new Map(); // id -> key, for every pin request not yet answered
    this.busyTimer = 0;
  }

  // main asks for the plot of msg ({type:'config'|'animate', …settings});
  // meta travels with its answers.
  main(msg, meta) {
    this.want = { msg, meta };
    this.schedule();
  }

  // stopAnimation ends an animation by asking for the plain plot: a newer
  // config supersedes it. (A stop with what "animation" would end it too,
  // but the page wants the plain plot after it, which the config is.)
  stopAnimation() {
    if (this.want && this.want.msg.type === 'animate') this.want = null;
    this.animating = false;
    if (!this.want && this.last) {
      const msg = { ...this.last.msg, type: 'config' };
      delete msg.stepsPerSecond;
      this.want = { msg, meta: this.last.meta };
    }
    this.mainId = -1; // frames already on their way are dropped
    this.waiting = false;
    this.schedule();
  }

  // pin asks for a pinned run; key names it in the answer.
  pin(key, settings) {
    this.pinQueue.push({ key, settings });
    this.schedule();
  }

  clearPins() {
    this.pinQueue = [];
    this.pinInflight = null;
    this.pinIds.clear();
  }

  // reconnected: the server forgot everything; send the newest again.
  reconnected() {
    this.requeuePin();
    this.pinIds.clear();
    if (this.last && (this.waiting || this.animating) && !this.want) {
      // An animation cannot resume mid-way: ask for the plain plot.
      this.want = { msg: { ...this.last.msg, type: 'config' }, meta: this.last.meta };
      delete this.want.msg.stepsPerSecond;
    }
    this.animating = false;
    this.waiting = false;
    this.schedule();
  }

  flush() {
    if (!this.conn.open) return;
    if (this.want) {
      if (this.holdOn()) return;
      const { msg, meta } = this.want;
      this.want = null;
      const id = newId();
      this.requeuePin();
      this.last = { msg, meta };
      this.mainId = id;
      this.waiting = true;
      this.animating = msg.type === 'animate';
      this.sentAt = performance.now();
      this.conn.send({ ...msg, id });
      if (this.h.onSend) this.h.onSend(meta);
      clearTimeout(this.busyTimer);
      this.busyTimer = setTimeout(() => this.h.onBusy(true), 150);
      return;
    }
    if (this.waiting || this.animating || this.pinInflight || this.pinQueue.length === 0) return;
    const { key, settings } = this.pinQueue.shift();
    const id = newId();
    this.pinInflight = { id, key };
    this.pinIds.set(id, key);
    this.conn.send({ type: 'config', id, ...settings });
  }

  // requeuePin puts the pin in flight back in the queue: a main request
  // or a stop is about to cancel it. A late answer is still accepted.
  requeuePin() {
    if (!this.pinInflight) return;
    const key = this.pinInflight.key;
    this.pinInflight = null;
    if (!this.pinQueue.some((p) => p.key === key)) {
      const settings = this.h.pinSettings(key);
      if (settings) this.pinQueue.unshift({ key, settings });
    }
  }

  handle(msg) {
    const id = msg.id;
    if (this.pinIds.has(id) && (msg.type === 'profile' || msg.type === 'error')) {
      const key = this.pinIds.get(id);
      this.pinIds.delete(id);
      if (this.pinInflight && this.pinInflight.id === id) this.pinInflight = null;
      this.pinQueue = this.pinQueue.filter((p) => p.key !== key);
      this.h.onPin(key, msg);
      this.schedule();
      return;
    }
    if (!id && this.waiting && isRateLimited(msg)) {
      // Our request was dropped by the rate limit: send it again soon.
      setTimeout(() => {
        if (this.waiting && !this.want && this.last) {
          this.want = this.last;
          this.waiting = false;
          this.schedule();
        }
      }, rateRetryMs);
      return;
    }
    if (id !== this.mainId || !this.last) {
      if (msg.type === 'error' && !id) this.h.onMain(msg, null);
      return; // an answer to a superseded request
    }
    switch (msg.type) {
      case 'profile':
      case 'error':
        if (this.waiting) this.roundTrip = performance.now() - this.sentAt;
        this.waiting = false;
        if (msg.type === 'error') this.animating = false;
        clearTimeout(this.busyTimer);
        this.h.onBusy(false);
        break;
      case 'done':
        this.animating = false;
        break;
      case 'frame':
      case 'jacobians':
        break;
      default:
        return;
    }
    this.h.onMain(msg, this.last.meta);
    this.schedule();
  }
}

// Analysis schedules the requests of one of the server's newest-wins
// slots (sensitivity and map share one). The server runs them newest
// first, so like the main plot: at most one a frame, and a newer one
// waits for the answer to the older unless that is slow. The view that
// receives an answer (or error) to the newest passes it to handle.
export class Analysis extends Patient {
  constructor(conn, { onBusy }) {
    super();
    this.conn = conn;
    this.onBusy = onBusy;
    this.want = null;
    this.last = null;
    this.id = 0;
    this.busyTimer = 0;
  }

  request(msg) {
    this.want = msg;
    this.schedule();
  }

  owns(id) {
    return id !== 0 && id === this.id;
  }

  // resend asks again for what a stop or a reconnection cancelled.
  resend() {
    if (this.waiting && !this.want && this.last) this.want = this.last;
    this.waiting = false;
    this.schedule();
  }

  flush() {
    if (!this.conn.open || !this.want || this.holdOn()) return;
    const msg = this.want;
    this.want = null;
    this.last = msg;
    this.id = newId();
    this.waiting = true;
    this.sentAt = performance.now();
    this.conn.send({ ...msg, id: this.id });
    clearTimeout(this.busyTimer);
    this.busyTimer = setTimeout(() => this.onBusy(true), 150);
  }

  // handle takes note of the answer to the newest request.
  handle() {
    if (this.waiting) this.roundTrip = performance.now() - this.sentAt;
    this.waiting = false;
    clearTimeout(this.busyTimer);
    this.onBusy(false);
    this.schedule();
  }
}
