// Streams: ingest rate and queue depth per stream, and a live, sampled tail
// of the selected stream's events.

import { api } from './api.js';
import { h, s as svgEl, fill } from './dom.js';
import * as fmt from './format.js';

const POLL_MS = 2000;
const HISTORY = 60; // rate samples kept per stream: two minutes

// sparkline draws recent rates as a small line, scaled to their maximum.
function sparkline(rates) {
  const w = 120;
  const ht = 24;
  const max = Math.max(1, ...rates);
  const step = w / (HISTORY - 1);
  const x0 = w - (rates.length - 1) * step;
  const pts = rates.map((r, i) => `${(x0 + i * step).toFixed(1)},${(ht - 2 - (r / max) * (ht - 4)).toFixed(1)}`).join(' ');
  return svgEl('svg', { width: w, height: ht, class: 'spark', 'aria-hidden': 'true' },
    svgEl('line', { x1: 0, x2: w, y1: ht - 2, y2: ht - 2, class: 'gridline' }),
    rates.length > 1 ? svgEl('polyline', { points: pts, fill: 'none', stroke: '#0b6bcb', 'stroke-width': 1.5 }) : null);
}

export function mount(main, arg) {
  let selected = arg;
  let paused = false;
  let known = new Set();
  const prev = new Map(); // name → {t, ingested}, for rates the server does not send
  const history = new Map(); // name → recent rates

  const notice = h('div', { class: 'notice error', role: 'alert' });
  const body = h('tbody');
  const table = h('table', { class: 'data streams', 'aria-label': 'Streams' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col', text: 'stream' }),
      h('th', { scope: 'col', class: 'num', text: 'events ingested' }),
      h('th', { scope: 'col', class: 'num', text: 'rate (events/s)' }),
      h('th', { scope: 'col', text: 'rate, last 2 min' }),
      h('th', { scope: 'col', text: 'queue (batches)' }),
      h('th', { scope: 'col', text: 'read by' }))),
    body);
  const tailTitle = h('h2', { id: 'tail-title' });
  const pauseBtn = h('button', { type: 'button', class: 'btn', 'aria-pressed': 'false', on: { click: togglePause } }, 'Pause');
  const tailList = h('ol', { class: 'tail', 'aria-labelledby': 'tail-title', reversed: true });
  const tailNote = h('p', { class: 'muted', style: { margin: '6px 0 0', fontSize: '12px' } });
  const tailPanel = h('section', { class: 'panel', 'aria-labelledby': 'tail-title' },
    h('div', { class: 'tail-head' }, tailTitle, pauseBtn), tailList, tailNote);

  fill(main, h('div', { class: 'toolbar' }, h('h1', { text: 'Streams' })), notice,
    h('div', { class: 'stack' }, h('section', { class: 'panel', 'aria-label': 'Stream list' }, table), tailPanel));

  function togglePause() {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.setAttribute('aria-pressed', String(paused));
    if (!paused) loadTail();
  }

  function rateOf(s, now) {
    if (typeof s.rate === 'number') return s.rate;
    const p = prev.get(s.name);
    prev.set(s.name, { t: now, ingested: s.ingested });
    if (!p || now - p.t < 500) return null;
    return Math.max(0, (s.ingested - p.ingested) / ((now - p.t) / 1000));
  }

  async function refresh() {
    let streams;
    try {
      streams = await api.streams();
      notice.textContent = '';
    } catch (err) {
      notice.textContent = `Cannot list the streams: ${err.message}`;
      return;
    }
    const now = Date.now();
    known = new Set(streams.map((s) => s.name));
    if (!selected && streams.length) selected = streams[0].name;
    if (!streams.length) {
      fill(body, h('tr', null, h('td', { colspan: 6, class: 'muted', text: 'No streams yet: a stream appears when events are posted to it or a statement reads it.' })));
    } else {
      fill(body, streams.map((s) => {
        const r = rateOf(s, now);
        const hist = history.get(s.name) || [];
        if (r !== null) hist.push(r);
        if (hist.length > HISTORY) hist.shift();
        history.set(s.name, hist);
        const cap = s.queue_capacity_batches || 0;
        return h('tr', { class: s.name === selected ? 'selected' : false, dataset: { stream: s.name } },
          h('th', { scope: 'row' }, h('a', { href: `#/streams/${encodeURIComponent(s.name)}`, 'aria-current': s.name === selected ? 'true' : false, text: s.name })),
          h('td', { class: 'num', text: fmt.num(s.ingested ?? 0) }),
          h('td', { class: 'num', text: r === null ? '…' : fmt.num(Math.round(r * 10) / 10) }),
          h('td', null, sparkline(hist)),
          h('td', null,
            h('meter', { min: 0, max: cap || 1, value: s.queue_depth || 0, high: cap * 0.7, optimum: 0, 'aria-label': `queue of ${s.name}` }),
            ` ${fmt.num(s.queue_depth ?? 0)} / ${fmt.num(cap)}`),
          h('td', null, (s.readers || []).length
            ? s.readers.map((q, i) => [i ? ', ' : '', h('a', { href: `#/queries/${encodeURIComponent(q)}`, text: q })])
            : h('span', { class: 'muted', text: 'no statement' })));
      }));
    }
    tailPanel.hidden = !selected;
    if (!paused) await loadTail();
  }

  async function loadTail() {
    if (!selected) return;
    tailTitle.textContent = `Live tail of ${selected}`;
    if (!known.has(selected)) {
      fill(tailList, h('li', { class: 'muted', text: `There is no stream named “${selected}” yet.` }));
      tailNote.textContent = '';
      return;
    }
    let events;
    try {
      events = await api.tail(selected);
    } catch (err) {
      tailNote.textContent = `Cannot read the tail: ${err.message}`;
      return;
    }
    const list = Array.isArray(events) ? events : [];
    fill(tailList, [...list].reverse().map((e) => h('li', { text: JSON.stringify(e) })));
    if (!list.length) fill(tailList, h('li', { class: 'muted', text: 'No events yet.' }));
    tailNote.textContent = `${list.length} most recent sampled event${list.length === 1 ? '' : 's'}, newest first · updated ${fmt.time(Date.now())}`;
  }

  refresh();
  const poll = setInterval(refresh, POLL_MS);
  return {
    go(next) {
      selected = next;
      refresh();
    },
    leave() {
      clearInterval(poll);
    },
  };
}
