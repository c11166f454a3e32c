// Dashboard: one widget per @Widget annotation of the running statements,
// plus the widgets people added, kept in the server-side layout document.

import { api } from './api.js';
import { h, fill, uid } from './dom.js';
import { acquire, release, revive } from './feed.js';
import { Widget, widgetSpec, TYPES } from './widget.js';
import { WINDOW_FIELDS } from './rows.js';
import { toast } from './toast.js';

const POLL_MS = 5000;

// normalLayout accepts whatever the server stored and keeps what we use.
function normalLayout(doc) {
  const d = doc && typeof doc === 'object' ? doc : {};
  return {
    ...d,
    widgets: Array.isArray(d.widgets) ? d.widgets.filter((w) => w && w.query && w.id) : [],
    hidden: Array.isArray(d.hidden) ? d.hidden.filter((x) => typeof x === 'string') : [],
  };
}

export function mount(main) {
  let views = [];
  let layout = normalLayout(null);
  const widgets = new Map();
  const feeds = new Map();

  const notice = h('div', { class: 'notice error', role: 'alert' });
  const grid = h('div', { class: 'grid', id: 'widgets' });
  const empty = h('p', { class: 'empty panel', hidden: true },
    'No widgets yet. Statements with a ', h('code', { text: '@Widget(…)' }), ' annotation show up here, or use “Add widget”.');
  const restore = h('button', { type: 'button', class: 'btn', hidden: true, on: { click: showHidden } });
  const addBtn = h('button', { type: 'button', class: 'btn primary', 'aria-expanded': 'false', 'aria-controls': 'add-widget', on: { click: toggleForm } }, 'Add widget');
  const formBox = h('div', { id: 'add-widget', hidden: true });

  fill(main,
    h('div', { class: 'toolbar' }, h('h1', { text: 'Dashboard' }), restore, addBtn),
    notice, formBox, empty, grid);

  function feedFor(query) {
    let f = feeds.get(query);
    if (!f) {
      f = acquire(query);
      feeds.set(query, f);
    }
    return f;
  }

  function desired() {
    const out = [];
    for (const v of views) {
      if (v.widget && Object.keys(v.widget).length && !layout.hidden.includes(v.name)) {
        out.push(widgetSpec(v.widget, v.name, `q:${v.name}`, 'annotation'));
      }
    }
    for (const w of layout.widgets) out.push(widgetSpec(w, w.query, w.id, 'layout'));
    return out;
  }

  // reconcile draws the widgets of views, a statement list asked for at
  // the time asked (0: not just asked).
  function reconcile(asked = 0) {
    const specs = desired();
    const byName = new Map(views.map((v) => [v.name, v]));
    const used = new Set(specs.filter((sp) => byName.has(sp.query)).map((sp) => sp.query));
    specs.forEach((spec, i) => {
      let w = widgets.get(spec.id);
      if (w && w.key !== JSON.stringify(spec)) {
        w.destroy();
        w = null;
      }
      if (!w) {
        w = new Widget(spec, { onRemove: remove });
        widgets.set(spec.id, w);
      }
      if (grid.children[i] !== w.el) grid.insertBefore(w.el, grid.children[i] || null);
      const view = byName.get(spec.query);
      w.gone = !view;
      if (view) {
        const f = feedFor(spec.query);
        revive(f, asked);
        w.attach(f, view);
      } else {
        w.detach();
      }
    });
    for (const [id, w] of widgets) {
      if (!specs.some((sp) => sp.id === id)) {
        w.destroy();
        widgets.delete(id);
      }
    }
    for (const [q, f] of feeds) {
      if (!used.has(q)) {
        release(f);
        feeds.delete(q);
      }
    }
    empty.hidden = specs.length > 0;
    restore.hidden = layout.hidden.length === 0;
    restore.textContent = `Show hidden widgets (${layout.hidden.length})`;
    tick();
  }

  function tick() {
    const now = Date.now();
    for (const w of widgets.values()) w.tick(now);
  }

  async function save() {
    try {
      await api.saveDashboard(layout);
    } catch (err) {
      notice.textContent = `The layout was not saved: ${err.message}`;
      return false;
    }
    notice.textContent = '';
    return true;
  }

  async function remove(spec) {
    if (spec.origin === 'annotation') layout.hidden.push(spec.query);
    else layout.widgets = layout.widgets.filter((w) => w.id !== spec.id);
    reconcile();
    if (await save()) toast(`Widget “${spec.title}” ${spec.origin === 'annotation' ? 'hidden' : 'removed'}.`);
    addBtn.focus();
  }

  async function showHidden() {
    layout.hidden = [];
    reconcile();
    await save();
    addBtn.focus();
  }

  function toggleForm() {
    const open = formBox.hidden;
    formBox.hidden = !open;
    addBtn.setAttribute('aria-expanded', String(open));
    if (open) {
      fill(formBox, addForm(views, async (entry) => {
        layout.widgets.push(entry);
        toggleForm();
        reconcile();
        if (await save()) toast(`Widget “${entry.title}” added.`);
      }, toggleForm));
      formBox.querySelector('select')?.focus();
    } else {
      formBox.replaceChildren();
    }
  }

  async function refresh() {
    const asked = Date.now();
    try {
      views = await api.queries();
      if (notice.dataset.source === 'queries') notice.textContent = '';
    } catch (err) {
      notice.textContent = `Cannot list the statements: ${err.message}`;
      notice.dataset.source = 'queries';
      return;
    }
    reconcile(asked);
  }

  (async () => {
    try {
      layout = normalLayout(await api.dashboard());
    } catch (err) {
      notice.textContent = `The saved layout could not be loaded: ${err.message}`;
    }
    await refresh();
  })();

  const poll = setInterval(refresh, POLL_MS);
  const clock = setInterval(tick, 1000);
  return {
    go() {},
    leave() {
      clearInterval(poll);
      clearInterval(clock);
      for (const w of widgets.values()) w.destroy();
      for (const f of feeds.values()) release(f);
    },
  };
}

// addForm builds the form that adds a widget for a running statement.
function addForm(views, onAdd, onCancel) {
  const field = (label, control) => {
    control.id ||= uid('f');
    return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control);
  };
  const option = (value, text = value) => h('option', { value, text });
  const query = h('select', { required: true, name: 'query' }, views.map((v) => option(v.name)));
  const type = h('select', { name: 'type' }, Object.keys(TYPES).map((t) => option(t)));
  const title = h('input', { type: 'text', name: 'title', placeholder: 'statement name' });
  const value = h('select', { name: 'value' });
  const dim = h('select', { name: 'dimension' });
  const unit = h('input', { type: 'text', name: 'unit', placeholder: 'e.g. ms', size: 6 });
  const limit = h('input', { type: 'number', name: 'limit', min: 1, max: 500, placeholder: 'default' });
  const dimLabel = h('label', { text: 'Series column' });

  function columns() {
    const v = views.find((x) => x.name === query.value);
    const cols = ((v && v.columns) || []).filter((c) => !WINDOW_FIELDS.has(c));
    fill(value, option('', '(first numeric column)'), cols.map((c) => option(c)));
    fill(dim, option('', '(none)'), cols.map((c) => option(c)));
  }
  function kind() {
    dimLabel.textContent = type.value === 'timeseries' ? 'Series column' : 'Label column';
  }
  query.addEventListener('change', columns);
  type.addEventListener('change', kind);
  columns();
  dim.id = uid('f');
  dimLabel.setAttribute('for', dim.id);

  if (!views.length) {
    return h('section', { class: 'panel', 'aria-label': 'Add widget' },
      h('p', { text: 'No statement is running. Deploy one on the Queries page first.' }),
      h('button', { type: 'button', class: 'btn', on: { click: onCancel } }, 'Close'));
  }

  const form = h('form', { class: 'panel', 'aria-labelledby': 'add-widget-title', style: { marginBottom: '16px' } },
    h('h2', { id: 'add-widget-title', style: { marginBottom: '10px' }, text: 'Add a widget' }),
    h('div', { class: 'form-grid' },
      field('Statement', query), field('Type', type), field('Title', title), field('Value column', value),
      h('div', { class: 'field' }, dimLabel, dim), field('Unit', unit), field('Windows / rows', limit)),
    h('div', { class: 'editor-foot' },
      h('button', { type: 'submit', class: 'btn primary' }, 'Add'),
      h('button', { type: 'button', class: 'btn', on: { click: onCancel } }, 'Cancel')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const entry = { id: uid(`w${Date.now().toString(36)}`), query: query.value, type: type.value, title: title.value.trim() || query.value };
    if (value.value) entry.value = value.value;
    if (dim.value) entry[type.value === 'timeseries' ? 'series' : 'label'] = dim.value;
    if (unit.value.trim()) entry.unit = unit.value.trim();
    if (limit.value) entry[type.value === 'timeseries' ? 'windows' : 'limit'] = limit.value;
    onAdd(entry);
  });
  return form;
}
