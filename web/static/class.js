// Class mode (docs/protocol.md, "Class mode"): the teacher's page starts
// a class and drives; students' pages join it with ?class=CODE and
// follow, or explore on their own and come back; the teacher asks where
// the curve will land and the room's guesses fill a histogram, shown to
// the class on Reveal.
//
// initClass(page, hooks): hooks.state() is the page's state as the class
// relays it ({settings, tab, step, pins}); hooks.apply(state) applies
// such a state (or the parts of one) with the functions a user's change
// uses; hooks.question() is the prompt and the guess of the tour step's
// prediction, or null; hooks.reveal() reveals that prediction's curve.

import { t, lang, addStrings } from './i18n.js';

const $ = (id) => document.getElementById(id);
const body = document.body;
// The error codes of class mode: the page's class box says them.
const classCodes = ['class-not-found', 'class-full', 'class-not-teacher', 'too-many-joins', 'class-no-question'];
const secretKey = (code) => `gradviz-class-${code}`;

export function initClass(page, hooks) {
  const box = $('class-box');
  const params = new URLSearchParams(location.search);
  let code = (params.get('class') || '').toUpperCase();
  let role = ''; // 'teacher' or 'student' once joined
  let secret = code ? sessionStorage.getItem(secretKey(code)) || '' : '';
  let following = true;
  let seq = 0;
  let teacherState = {}; // the newest state of the teacher, whole
  let sent = {}; // what the teacher's page sent, by part (JSON)
  let sendTimer = 0;
  let members = 0;
  let followers = 0;
  let question = null; // {question, prompt, revealed, bins, answered}
  let answered = null; // the student's answer, log10
  let link = '';
  let ended = '';

  const el = (tag, props = {}, ...kids) => {
    const e = document.createElement(tag);
    Object.assign(e, props);
    e.append(...kids);
    return e;
  };
  const button = (id, key, onClick) => {
    const b = el('button', { type: 'button', id });
    b.dataset.i18n = key;
    b.textContent = t(key);
    b.addEventListener('click', onClick);
    return b;
  };

  function render() {
    body.dataset.classRole = role;
    body.dataset.classFollowing = role === 'student' ? String(following) : '';
    if (!role) {
      const kids = [button('class-start', 'class.start', start)];
      if (ended) kids.push(el('p', { className: 'note', id: 'class-ended', textContent: t(ended) }));
      box.replaceChildren(...kids);
      return;
    }
    const head = el('p', { className: 'class-head' },
      el('span', { textContent: t('class.code') + ' ' }),
      el('strong', { id: 'class-code', className: 'class-code', textContent: code }));
    const count = el('p', { id: 'class-count', className: 'class-count', textContent: t('class.following', { n: followers, m: members }) });
    count.setAttribute('role', 'status');
    const kids = [head];
    if (role === 'teacher') {
      const a = el('a', { id: 'class-link', href: link, textContent: link });
      const qr = el('img', { id: 'class-qr', className: 'class-qr', src: `/api/class/${code}/qr.png`, alt: t('class.qr', { code }) });
      // A button around the code: pressed, it fills the screen for the
      // back of the room, with the code below it.
      const big = el('button', { type: 'button', id: 'class-qr-big', className: 'class-qr-button', title: t('class.qrBig') }, qr,
        el('span', { className: 'class-qr-code', textContent: code }));
      big.setAttribute('aria-pressed', 'false');
      big.addEventListener('click', () => {
        const on = big.getAttribute('aria-pressed') !== 'true';
        big.setAttribute('aria-pressed', String(on));
        big.classList.toggle('big', on);
      });
      kids.push(el('p', { className: 'class-link' }, a), big, count,
        el('div', { className: 'class-actions' },
          button('class-ask', 'class.ask', () => ask()),
          button('class-reveal', 'class.reveal', reveal),
          button('class-close', 'class.close', close)));
    } else {
      const status = el('p', { id: 'class-status', className: 'class-status', textContent: t(following ? 'class.followingTeacher' : 'class.exploring') });
      status.setAttribute('role', 'status');
      kids.push(status, button('class-follow', following ? 'class.detach' : 'class.follow', () => follow(!following)));
    }
    kids.push(renderQuestion());
    box.replaceChildren(...kids);
    const rev = $('class-reveal');
    if (rev) rev.disabled = !question || question.revealed;
  }

  function renderQuestion() {
    const q = el('div', { id: 'class-question', className: 'class-question' });
    if (!question) return q;
    q.append(el('p', { className: 'class-prompt', textContent: question.prompt || t('class.defaultPrompt') }));
    if (role === 'student' && !question.revealed) {
      const guess = hooks.question()?.guess;
      const input = el('input', { type: 'number', id: 'class-guess', min: -90, max: 10, step: 0.1, value: String(answered ?? guess ?? 0) });
      const label = el('label', { htmlFor: 'class-guess', textContent: t('class.guess') });
      q.append(el('div', { className: 'class-answer' }, label, input,
        button('class-send', 'class.send', () => answer(Number(input.value)))));
      if (answered !== null) q.append(el('p', { className: 'note', id: 'class-sent', textContent: t('class.sent', { v: fmtPow(answered) }) }));
    }
    if (question.bins && (role === 'teacher' || question.revealed)) q.append(histogram(question));
    return q;
  }

  function histogram(qq) {
    const wrap = el('div', { id: 'class-histogram', className: 'class-histogram' });
    wrap.setAttribute('role', 'img');
    const max = Math.max(1, ...qq.bins.map((b) => b.count));
    const words = qq.bins.map((b) => t('class.bin', { low: fmtPow(b.low), high: fmtPow(b.low + 1), n: b.count }));
    wrap.setAttribute('aria-label', [t('class.answered', { n: qq.answered, m: qq.members ?? members }), ...words].join('; '));
    for (const b of qq.bins) {
      const bar = el('div', { className: 'class-bar' });
      bar.style.height = `${Math.round((b.count / max) * 100)}%`;
      bar.dataset.low = String(b.low);
      bar.dataset.count = String(b.count);
      wrap.append(el('div', { className: 'class-col' }, el('span', { className: 'class-n', textContent: String(b.count) }), bar,
        el('span', { className: 'class-low', textContent: fmtPow(b.low) })));
    }
    const total = el('p', { id: 'class-answered', className: 'note', textContent: t('class.answered', { n: qq.answered, m: qq.members ?? members }) });
    return el('div', {}, wrap, total);
  }

  // fmtPow writes 10^x for a log10, with a decimal comma in Spanish.
  function fmtPow(x) {
    const s = `10^${Math.round(x * 10) / 10}`;
    return lang() === 'es' ? s.replace('.', ',') : s;
  }

  const send = (msg) => page.conn.send(msg);

  function start() {
    send({ type: 'classStart' });
  }

  function join() {
    if (!code) return;
    send(secret ? { type: 'classJoin', code, secret } : { type: 'classJoin', code });
  }

  function follow(on) {
    send({ type: 'classFollow', follow: on });
  }

  function ask(prompt) {
    const q = hooks.question();
    send({ type: 'classAsk', prompt: prompt ?? q?.prompt ?? '' });
  }

  function reveal() { send({ type: 'classReveal' }); }

  function close() {
    send({ type: 'classClose' });
    sessionStorage.removeItem(secretKey(code));
    leave('class.closed');
  }

  function answer(v) {
    if (!Number.isFinite(v) || !question) return;
    send({ type: 'classAnswer', question: question.question, value: Math.min(10, Math.max(-90, v)) });
  }

  function leave(why) {
    role = '';
    code = '';
    secret = '';
    question = null;
    ended = why || '';
    page.updateURL();
    render();
  }

  // changed is called whenever the page's state may have moved; the
  // teacher's page sends the parts that did, a tenth of a second later at
  // most.
  function changed() {
    if (role !== 'teacher' || sendTimer) return;
    sendTimer = setTimeout(() => {
      sendTimer = 0;
      const now = hooks.state();
      const delta = {};
      for (const [k, v] of Object.entries(now)) {
        const j = JSON.stringify(v);
        if (sent[k] !== j) {
          delta[k] = v;
          sent[k] = j;
        }
      }
      if (Object.keys(delta).length) send({ type: 'classState', state: delta });
    }, 50);
  }

  function withoutPlay(state) {
    const { play, ...rest } = state;
    return rest;
  }

  function applyTeacher(state) {
    body.dataset.classApplying = 'true';
    try {
      hooks.apply(state);
    } finally {
      delete body.dataset.classApplying;
    }
    body.dataset.classSeq = String(seq);
  }

  function onMessage(msg) {
    switch (msg.type) {
      case 'classStarted':
        code = msg.code;
        secret = msg.secret;
        sessionStorage.setItem(secretKey(code), secret);
        return true;
      case 'classJoined':
        code = msg.code;
        role = msg.role;
        ended = '';
        link = `${location.origin}/?class=${code}`;
        members = msg.members;
        followers = msg.following;
        {
          // A page back from a lost connection is a new member: its
          // answer to the question still open goes again.
          const again = answered !== null && question && msg.question?.question === question.question && !msg.question.revealed ? answered : null;
          question = msg.question || null;
          answered = null;
          if (again !== null && msg.role === 'student') answer(again);
        }
        seq = msg.seq;
        teacherState = { ...msg.state };
        if (role === 'teacher') {
          // A page that started the class (or reloaded) sends its whole
          // state: what it shows is what the class sees.
          sent = {};
          changed();
        } else {
          following = true;
          applyTeacher(withoutPlay(teacherState));
        }
        page.updateURL();
        render();
        return true;
      case 'classUpdate':
        if (msg.seq <= seq) return true;
        seq = msg.seq;
        body.dataset.classSeen = String(seq);
        Object.assign(teacherState, msg.state);
        if (role === 'student' && following) applyTeacher(msg.state);
        return true;
      case 'classFollowing':
        following = msg.follow;
        if (following) {
          seq = msg.seq;
          teacherState = { ...msg.state };
          applyTeacher(withoutPlay(teacherState));
        }
        render();
        return true;
      case 'classMembers':
        members = msg.members;
        followers = msg.following;
        {
          const c = $('class-count');
          if (c) c.textContent = t('class.following', { n: followers, m: members });
          else render();
        }
        return true;
      case 'classQuestion':
        question = { question: msg.question, prompt: msg.prompt, revealed: false };
        answered = null;
        render();
        return true;
      case 'classAnswers':
      case 'classRevealed':
        if (question && question.question === msg.question) {
          Object.assign(question, { bins: msg.bins, answered: msg.answered, members: msg.members });
          if (msg.type === 'classRevealed') {
            question.revealed = true;
            // The class's answers are out: so is the curve they guessed.
            hooks.reveal();
          }
          render();
        }
        return true;
      case 'classAnswered':
        answered = msg.value;
        render();
        return true;
      case 'classClosed':
        if (msg.code === code) {
          sessionStorage.removeItem(secretKey(code));
          leave({ idle: 'class.idle', gone: 'class.gone' }[msg.reason] || 'class.closed');
        }
        return true;
      case 'classSent': case 'classAsked': case 'classOK': case 'classLeft':
        return true;
      case 'error':
        if (classCodes.includes(msg.code)) {
          if (!role) {
            ended = '';
            box.replaceChildren(button('class-start', 'class.start', start),
              el('p', { className: 'note error', id: 'class-error', textContent: t(`error.code.${msg.code}`) }));
            code = '';
            secret = '';
            page.updateURL();
          }
          return true;
        }
        return false;
    }
    return false;
  }

  // An update from the teacher asks nothing of the page when the tour
  // step with a prediction opens: the teacher's page asks the class.
  document.addEventListener('tour-step', (e) => {
    if (role === 'teacher' && e.detail.step?.predict) {
      const q = e.detail.step.predict.question;
      ask(q[lang()] ?? q.en);
    }
  });

  // Play and Stop on the teacher's page play and stop the students'
  // animations; a page joining later is not started by an old Play.
  $('play')?.addEventListener('click', () => {
    if (role !== 'teacher') return;
    setTimeout(() => {
      const on = $('play').dataset.playing === 'true';
      send({ type: 'classState', state: { play: { on, speed: Number($('speed').value) } } });
    }, 0);
  });

  render();
  return {
    onMessage,
    changed,
    join, // on every (re)connection
    code: () => code,
    role: () => role,
    relabel: render,
  };
}

addStrings({
  en: {
    'class.start': 'Start class',
    'class.code': 'Class',
    'class.qr': 'QR code of the link to class {code}',
    'class.qrBig': 'Show the QR code across the screen (again to shrink it)',
    'class.following': '{n} of {m} students following',
    'class.ask': 'Ask the class',
    'class.reveal': 'Reveal the answers',
    'class.close': 'End class',
    'class.followingTeacher': 'Following the teacher',
    'class.exploring': 'Exploring on your own',
    'class.detach': 'Explore on my own',
    'class.follow': 'Follow the teacher',
    'class.defaultPrompt': 'Where will the curve land at step 1?',
    'class.guess': 'Your guess (power of ten)',
    'class.send': 'Send my answer',
    'class.sent': 'Sent: {v}. You may change it until the reveal.',
    'class.bin': '{low} to {high}: {n}',
    'class.answered': '{n} of {m} answered',
    'class.closed': 'The class has ended.',
    'class.idle': 'The class ended after a long time without use.',
    'class.gone': 'The class is no longer reachable: the server that held it has stopped.',
  },
  es: {
    'class.start': 'Empezar clase',
    'class.code': 'Clase',
    'class.qr': 'Código QR del enlace a la clase {code}',
    'class.qrBig': 'Mostrar el código QR en toda la pantalla (otra vez para reducirlo)',
    'class.following': '{n} de {m} estudiantes siguen',
    'class.ask': 'Preguntar a la clase',
    'class.reveal': 'Revelar las respuestas',
    'class.close': 'Terminar la clase',
    'class.followingTeacher': 'Sigues al profesor',
    'class.exploring': 'Exploras por tu cuenta',
    'class.detach': 'Explorar por mi cuenta',
    'class.follow': 'Seguir al profesor',
    'class.defaultPrompt': '¿Dónde quedará la curva en el paso 1?',
    'class.guess': 'Tu respuesta (potencia de diez)',
    'class.send': 'Enviar mi respuesta',
    'class.sent': 'Enviada: {v}. Puedes cambiarla hasta que se revele.',
    'class.bin': 'De {low} a {high}: {n}',
    'class.answered': 'Han respondido {n} de {m}',
    'class.closed': 'La clase ha terminado.',
    'class.idle': 'La clase terminó tras mucho tiempo sin uso.',
    'class.gone': 'La clase ya no está disponible: el servidor que la tenía se ha detenido.',
  },
});
