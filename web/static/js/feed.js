// A Feed keeps one statement's recent rows for the widgets that show it.
// Every feed of the page shares one Server-Sent Events connection
// (GET /v1/results?query=a&query=b…): a browser keeps at most six HTTP/1.1
// connections per server, so one per statement would stall the page. The
// connection is re-opened when the set of statements changes.

import { api } from './api.js';
import { rowKey } from './rows.js';

const MAX_WINDOWS = 240;
const MAX_LOOSE = 2000;
// The server follows at most this many statements per connection.
const PER_STREAM = 64;

class Feed {
  constructor(query) {
    this.query = query;
    this.windows = new Map(); // window_start → Map(key → row)
    this.loose = new Map(); // rows without a window, by key, oldest first
    this.order = []; // window starts, ascending
    this.width = 0; // window_end - window_start of the latest row
    this.conn = 'connecting'; // connecting | open | reconnecting | gone
    this.goneAt = 0; // when the statement was last known not to exist
    this.lastRowAt = 0;
    this.openedAt = 0;
    this.listeners = new Set();
    this.refs = 0;
    this.pending = 0;
  }

  setConn(state) {
    if (this.conn === state) return;
    this.conn = state;
    if (state === 'open') this.openedAt = Date.now();
    this.notify();
  }

  // receive takes one row. A row the feed already holds unchanged (the
  // replay after a reconnect) is no update.
  receive(row) {
    if (!row || typeof row !== 'object' || !this.add(row)) return;
    this.lastRowAt = Date.now();
    this.notify();
  }

  add(row) {
    const key = rowKey(row);
    const ws = typeof row.window_start === 'number' ? row.window_start : null;
    if (ws === null) {
      if (same(this.loose.get(key), row)) return false;
      this.loose.delete(key);
      this.loose.set(key, row);
      if (this.loose.size > MAX_LOOSE) this.loose.delete(this.loose.keys().next().value);
      return true;
    }
    if (typeof row.window_end === 'number') this.width = row.window_end - ws;
    let w = this.windows.get(ws);
    if (!w) {
      if (this.order.length >= MAX_WINDOWS && ws < this.order[0]) return false;
      w = new Map();
      this.windows.set(ws, w);
      this.order.push(ws);
      this.order.sort((a, b) => a - b);
      while (this.order.length > MAX_WINDOWS) this.windows.delete(this.order.shift());
    }
    if (same(w.get(key), row)) return false;
    w.delete(key);
    w.set(key, row);
    return true;
  }

  // notify tells the widgets once per frame, so a replay of many rows
  // draws once.
  notify() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      for (const fn of this.listeners) fn();
    });
  }

  windowStarts() {
    return this.order;
  }

  rowsIn(ws) {
    const w = this.windows.get(ws);
    return w ? [...w.values()] : [];
  }

  looseRows() {
    return [...this.loose.values()];
  }

  // latest returns the newest window's rows, or every windowless row.
  latest() {
    if (this.order.length) return { ws: this.order.at(-1), rows: this.rowsIn(this.order.at(-1)) };
    return { ws: null, rows: this.looseRows() };
  }

  // recent returns up to n rows, newest window first.
  recent(n) {
    const out = [...this.looseRows()].reverse();
    for (let i = this.order.length - 1; i >= 0 && out.length < n; i--) {
      out.push(...[...this.windows.get(this.order[i]).values()].reverse());
    }
    return out.slice(0, n);
  }
}

function same(a, b) {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

const feeds = new Map(); // statement → Feed
let links = []; // open connections, each for up to PER_STREAM statements
let retry = 0;
let timer = 0;
let queued = false;

// A Link is one connection following a fixed list of statements.
class Link {
  constructor(names) {
    this.names = names;
    this.key = names.join('\n');
    this.dead = false;
    const es = new EventSource(api.resultsURL(names));
    this.es = es;
    es.onopen = () => {
      retry = 0;
      for (const n of names) {
        const f = feeds.get(n);
        if (f && f.conn !== 'gone') f.setConn('open');
      }
    };
    es.addEventListener('row', (e) => {
      const m = parse(e.data);
      if (m) feeds.get(m.query)?.receive(m.row);
    });
    es.addEventListener('gone', (e) => {
      const f = feeds.get(parse(e.data)?.query);
      if (f) markGone(f, Date.now());
    });
    // On any error the browser would retry on its own, also after a
    // statement is gone (a 404 each time). Check the statements first.
    es.onerror = () => {
      this.close();
      for (const n of names) {
        const f = feeds.get(n);
        if (f && f.conn !== 'gone') f.setConn('reconnecting');
      }
      scheduleReconnect();
    };
  }

  close() {
    this.dead = true;
    this.es.close();
  }
}

function parse(data) {
  try {
    const m = JSON.parse(data);
    return m && typeof m === 'object' ? m : null;
  } catch {
    return null;
  }
}

function markGone(feed, at) {
  feed.goneAt = at;
  feed.setConn('gone');
}

// sync opens the connections the followed statements need, closing those
// that follow another set. It runs once after the current task, so that a
// redraw adding many widgets opens one connection.
function sync() {
  if (queued) return;
  queued = true;
  queueMicrotask(() => {
    queued = false;
    const names = [...feeds.values()].filter((f) => f.conn !== 'gone').map((f) => f.query).sort();
    const groups = [];
    for (let i = 0; i < names.length; i += PER_STREAM) groups.push(names.slice(i, i + PER_STREAM));
    const next = groups.map((g, i) => {
      const l = links[i];
      if (l && !l.dead && l.key === g.join('\n')) return l;
      l?.close();
      return new Link(g);
    });
    for (const l of links.slice(groups.length)) l.close();
    links = next;
  });
}

function scheduleReconnect() {
  clearTimeout(timer);
  const delay = Math.min(15000, 500 * 2 ** retry);
  retry += 1;
  timer = setTimeout(reconnect, delay);
}

async function reconnect() {
  timer = 0;
  if (!feeds.size) return;
  const asked = Date.now();
  let views;
  try {
    views = await api.queries();
  } catch {
    scheduleReconnect();
    return;
  }
  const running = new Set(views.map((v) => v.name));
  for (const f of feeds.values()) {
    if (!running.has(f.query)) markGone(f, asked);
  }
  sync();
}

// acquire returns the shared feed of a statement; release it when done.
export function acquire(query) {
  let f = feeds.get(query);
  if (!f) {
    f = new Feed(query);
    feeds.set(query, f);
    sync();
  }
  f.refs += 1;
  return f;
}

export function release(feed) {
  feed.refs -= 1;
  if (feed.refs > 0) return;
  cancelAnimationFrame(feed.pending);
  feeds.delete(feed.query);
  sync();
}

// revive follows a gone feed's statement again: the caller saw it running
// in a list asked for at the time asked, after it was known gone.
export function revive(feed, asked) {
  if (feed.conn !== 'gone' || asked <= feed.goneAt || !feeds.has(feed.query)) return;
  feed.setConn('connecting');
  sync();
}
