// A Feed follows one statement's results over Server-Sent Events and keeps
// its recent rows. Widgets of the same statement share one Feed.

import { api } from './api.js';
import { rowKey } from './rows.js';

const MAX_WINDOWS = 240;
const MAX_LOOSE = 2000;

class Feed {
  constructor(query) {
    this.query = query;
    this.windows = new Map(); // window_start → Map(key → row)
    this.loose = new Map(); // rows without a window, by key, oldest first
    this.order = []; // window starts, ascending
    this.width = 0; // window_end - window_start of the latest row
    this.conn = 'connecting'; // connecting | open | reconnecting | gone
    this.lastRowAt = 0;
    this.openedAt = 0;
    this.received = 0;
    this.listeners = new Set();
    this.refs = 0;
    this.retry = 0;
    this.timer = 0;
    this.pending = 0;
    this.connect();
  }

  connect() {
    const es = new EventSource(api.resultsURL(this.query));
    this.es = es;
    es.onopen = () => {
      this.retry = 0;
      this.openedAt = Date.now();
      this.setConn('open');
    };
    es.onmessage = (e) => this.receive(e.data);
    // On any error the browser would retry on its own, also after the
    // statement is gone (a 404 each time). Check the statement first.
    es.onerror = () => {
      es.close();
      this.setConn('reconnecting');
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    clearTimeout(this.timer);
    const delay = Math.min(15000, 500 * 2 ** this.retry);
    this.retry += 1;
    this.timer = setTimeout(() => this.reconnect(), delay);
  }

  async reconnect() {
    if (this.refs <= 0) return;
    try {
      const views = await api.queries();
      if (this.refs <= 0) return;
      if (!views.some((v) => v.name === this.query)) {
        this.setConn('gone');
        return;
      }
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.connect();
  }

  setConn(state) {
    if (this.conn === state) return;
    this.conn = state;
    this.notify();
  }

  receive(data) {
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    const rows = Array.isArray(parsed) ? parsed : [parsed];
    for (const row of rows) {
      if (row && typeof row === 'object') this.add(row);
    }
    this.lastRowAt = Date.now();
    this.notify();
  }

  add(row) {
    this.received += 1;
    const key = rowKey(row);
    const ws = typeof row.window_start === 'number' ? row.window_start : null;
    if (ws === null) {
      this.loose.delete(key);
      this.loose.set(key, row);
      if (this.loose.size > MAX_LOOSE) this.loose.delete(this.loose.keys().next().value);
      return;
    }
    if (typeof row.window_end === 'number') this.width = row.window_end - ws;
    let w = this.windows.get(ws);
    if (!w) {
      if (this.order.length >= MAX_WINDOWS && ws < this.order[0]) return;
      w = new Map();
      this.windows.set(ws, w);
      this.order.push(ws);
      this.order.sort((a, b) => a - b);
      while (this.order.length > MAX_WINDOWS) this.windows.delete(this.order.shift());
    }
    w.delete(key);
    w.set(key, row);
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

  close() {
    clearTimeout(this.timer);
    cancelAnimationFrame(this.pending);
    this.es?.close();
  }
}

const feeds = new Map();

// acquire returns the shared feed of a statement; release it when done.
export function acquire(query) {
  let f = feeds.get(query);
  if (!f) {
    f = new Feed(query);
    feeds.set(query, f);
  }
  f.refs += 1;
  return f;
}

export function release(feed) {
  feed.refs -= 1;
  if (feed.refs <= 0) {
    feed.close();
    feeds.delete(feed.query);
  }
}
