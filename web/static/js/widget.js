// A dashboard widget: a card that follows one statement's results and draws
// them with the renderer of its type.

import { h, fill, uid } from './dom.js';
import * as fmt from './format.js';
import { firstColumn, isNumber, isLabel } from './rows.js';
import { colorer } from './charts/axis.js';
import * as timeseries from './charts/timeseries.js';
import * as bar from './charts/bar.js';
import * as counter from './charts/counter.js';
import * as topn from './charts/topn.js';
import * as table from './charts/table.js';

export const TYPES = { timeseries, counter, topn, bar, table };

const int = (v, d) => {
  const n = Number.parseInt(v, 10);
  return n > 0 ? n : d;
};

// widgetSpec normalises @Widget arguments (all strings) or a layout entry.
export function widgetSpec(raw, query, id, origin) {
  const type = String(raw.type || 'table').toLowerCase();
  const columns = Array.isArray(raw.columns) ? raw.columns : String(raw.columns || '').split(',').map((c) => c.trim()).filter(Boolean);
  return {
    id,
    origin,
    query,
    type,
    title: raw.title || query,
    value: raw.value || '',
    series: raw.series || '',
    label: raw.label || raw.series || '',
    unit: raw.unit || '',
    limit: int(raw.limit, { table: 20, timeseries: 8 }[type] || 10),
    windows: int(raw.windows, 30),
    columns,
    sort: raw.sort || '',
    idle: fmt.parseDuration(raw.idle),
  };
}

const STATES = {
  connecting: 'connecting…',
  waiting: 'waiting for data',
  live: 'live',
  reconnecting: 'disconnected — reconnecting',
  idle: 'idle — no new rows',
  gone: 'statement not deployed',
};

export class Widget {
  constructor(spec, { onRemove }) {
    this.spec = spec;
    this.key = JSON.stringify(spec);
    this.feed = null;
    this.columns = [];
    this.color = colorer();
    this.state = '';
    const titleId = uid('wt');
    this.stateEl = h('span', { class: 'state', role: 'status' });
    this.body = h('div', { class: 'body' });
    this.updated = h('span', { class: 'updated' });
    const removeLabel = spec.origin === 'annotation' ? `Hide widget ${spec.title}` : `Remove widget ${spec.title}`;
    this.el = h('section', {
      class: `widget${spec.type === 'timeseries' || spec.type === 'table' ? ' wide' : ''}`,
      'aria-labelledby': titleId,
      dataset: { widget: spec.id, query: spec.query, type: spec.type },
    },
    h('header', null,
      h('h2', { id: titleId, text: spec.title }),
      this.stateEl,
      h('button', { type: 'button', class: 'icon-btn', 'aria-label': removeLabel, title: removeLabel, on: { click: () => onRemove(spec) } }, '×')),
    this.body,
    h('footer', null,
      h('span', null, 'statement ', h('a', { href: `#/queries/${encodeURIComponent(spec.query)}`, text: spec.query })),
      h('span', { class: 'spacer' }),
      this.updated));
    this.onFeed = () => this.draw();
    // Redraw on width changes only: a redraw may change the height.
    this.width = 0;
    this.resize = new ResizeObserver((entries) => {
      const w = Math.round(entries[0].contentRect.width);
      if (w === this.width) return;
      this.width = w;
      requestAnimationFrame(() => this.draw());
    });
    this.resize.observe(this.body);
    this.draw();
    this.tick(Date.now());
  }

  // attach subscribes to the statement's feed; view is the statement.
  attach(feed, view) {
    this.columns = view.columns || [];
    if (this.feed === feed) return;
    this.detach();
    this.feed = feed;
    feed.listeners.add(this.onFeed);
    this.draw();
  }

  detach() {
    if (!this.feed) return;
    this.feed.listeners.delete(this.onFeed);
    this.feed = null;
  }

  resolved() {
    const spec = { ...this.spec };
    const rows = this.feed ? this.feed.latest().rows : [];
    if (!spec.value) spec.value = firstColumn(this.columns, rows, isNumber);
    if (!spec.label && spec.type !== 'timeseries') spec.label = firstColumn(this.columns, rows, isLabel, [spec.value]);
    return spec;
  }

  draw() {
    const kind = TYPES[this.spec.type];
    if (!kind) {
      fill(this.body, h('p', { class: 'waiting-msg', text: `Unknown widget type “${this.spec.type}”: use one of ${Object.keys(TYPES).join(', ')}.` }));
      return;
    }
    const drawn = this.feed && kind.render(this.body, { spec: this.resolved(), feed: this.feed, color: this.color, columns: this.columns });
    if (!drawn) fill(this.body, h('p', { class: 'waiting-msg', text: this.feed ? 'No rows yet: they appear here as windows close.' : '' }));
    this.tick(Date.now());
  }

  // tick refreshes the connection state and the "last update" time.
  tick(now) {
    const f = this.feed;
    let state;
    if (!f) state = this.gone ? 'gone' : 'connecting';
    else if (f.conn === 'gone') state = 'gone';
    else if (f.conn === 'connecting' || f.conn === 'reconnecting') state = f.conn;
    else {
      const idleMs = this.spec.idle ?? Math.max(30000, 3 * f.width);
      const since = now - (f.lastRowAt || f.openedAt);
      if (since > idleMs) state = 'idle';
      else state = f.lastRowAt ? 'live' : 'waiting';
    }
    if (state !== this.state) {
      this.state = state;
      this.el.dataset.state = state;
      this.stateEl.className = `state ${state}`;
      this.stateEl.textContent = STATES[state];
    }
    const at = f?.lastRowAt;
    this.updated.textContent = at ? `last update ${fmt.time(at)} (${fmt.ago(at, now)})` : 'no update yet';
  }

  destroy() {
    this.detach();
    this.resize.disconnect();
    this.el.remove();
  }
}
