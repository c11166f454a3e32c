// Queries: every deployed statement with its SQL, status, plan and live
// counters, and an editor to deploy, replace or delete statements.

import { api } from './api.js';
import { h, fill } from './dom.js';
import * as fmt from './format.js';
import { Editor } from './editor.js';
import { planView } from './plan.js';
import { toast } from './toast.js';

const POLL_MS = 2000;

const EXAMPLE = `@Name("views_by_device")
@Widget(type="timeseries", title="Views by device", value="views", series="device")
SELECT device, COUNT(*) AS views
FROM events
GROUP BY TUMBLE(ts, INTERVAL 10 SECOND), device;`;

const COUNTERS = [
  ['events_in', 'events in', true],
  ['rows_out', 'rows out', true],
  ['late_events', 'late events'],
  ['errors', 'errors'],
  ['state_size', 'state size'],
  ['queued_batches', 'queued batches'],
  ['subscriber_drops', 'subscriber drops'],
];

// Shares of the wall clock since the previous poll: processing, and handing
// rows on (waiting for room downstream included).
const SHARES = [
  ['busy_seconds', 'busy'],
  ['blocked_seconds', 'blocked'],
];

const statusClass = (s) => (String(s || '').startsWith('running') ? 'running' : 'degraded');

export function mount(main, arg) {
  let views = [];
  let selected = arg;
  let shownFor = null; // the statement the detail pane was drawn for
  let shownShape = ''; // its SQL, plan and widget then: a replace redraws
  let mode = { kind: 'deploy' };
  const samples = new Map(); // name → {t, stats} of the previous poll, for rates

  const notice = h('div', { class: 'notice error', role: 'alert' });
  const list = h('ul', { class: 'qlist', 'aria-label': 'Deployed statements' });
  const detail = h('section', { class: 'panel detail', 'aria-label': 'Statement details' });
  const errorsList = h('ul', { class: 'errors', id: 'editor-errors', 'aria-label': 'Compile errors' });
  const result = h('div', { class: 'notice', role: 'status', id: 'editor-result' });
  const editorTitle = h('h2', { id: 'editor-title' });
  const submitBtn = h('button', { type: 'button', class: 'btn primary', id: 'editor-submit', on: { click: submit } });
  const newBtn = h('button', { type: 'button', class: 'btn', on: { click: () => startNew(true) } }, 'New statement');
  const editor = new Editor({ id: 'sql-editor', describedBy: 'editor-errors editor-hint', onSubmit: submit });
  editor.ta.placeholder = EXAMPLE;

  const editorPanel = h('section', { class: 'panel', 'aria-labelledby': 'editor-title', id: 'editor-panel' },
    h('div', { class: 'editor-head' }, editorTitle,
      h('label', { for: 'sql-editor', class: 'sr-only', text: 'SQL statements with annotations' })),
    editor.el,
    errorsList,
    h('div', { class: 'editor-foot' }, submitBtn,
      h('button', { type: 'button', class: 'btn', on: { click: () => { editor.value = ''; errorsList.replaceChildren(); setResult(''); editor.ta.focus(); } } }, 'Clear'),
      h('span', { class: 'hint', id: 'editor-hint', text: 'Ctrl+Enter submits · Tab completes a function name' })),
    result);

  fill(main,
    h('div', { class: 'toolbar' }, h('h1', { text: 'Queries' }), newBtn),
    notice,
    h('div', { class: 'split' },
      h('nav', { class: 'panel', 'aria-label': 'Statements' }, list),
      h('div', { class: 'stack' }, detail, editorPanel)));
  setMode({ kind: 'deploy' });

  function setMode(m) {
    mode = m;
    editorTitle.textContent = m.kind === 'replace' ? `Replace ${m.name}` : 'Deploy a statement';
    submitBtn.textContent = m.kind === 'replace' ? `Replace ${m.name}` : 'Deploy';
  }

  function setResult(text, kind = '') {
    result.className = `notice ${kind}`;
    result.textContent = text;
  }

  function startNew(focus) {
    setMode({ kind: 'deploy' });
    editor.value = '';
    errorsList.replaceChildren();
    setResult('');
    if (focus) editor.ta.focus();
  }

  function edit(v) {
    setMode({ kind: 'replace', name: v.name });
    editor.value = v.sql || '';
    errorsList.replaceChildren();
    setResult('');
    editor.ta.focus();
  }

  function showErrors(errors) {
    editor.setErrors(errors);
    fill(errorsList, errors.map((e) => {
      const where = e.line > 0 ? `line ${e.line}, column ${e.column}` : `statement ${e.statement}`;
      const who = e.name ? ` (${e.name})` : '';
      const tok = e.token ? ` — near “${e.token}”` : '';
      return h('li', null, h('button', {
        type: 'button',
        dataset: { line: e.line, column: e.column },
        on: { click: () => e.line > 0 && editor.focusAt(e.line, e.column) },
      }, h('span', { class: 'pos', text: where }), `${e.message}${tok}${e.line > 0 ? '' : who}`));
    }));
  }

  async function submit() {
    const sql = editor.value;
    errorsList.replaceChildren();
    editor.setErrors([]);
    if (!sql.trim()) {
      setResult('Write a statement first.', 'error');
      return;
    }
    submitBtn.disabled = true;
    setResult(mode.kind === 'replace' ? 'Replacing…' : 'Deploying…');
    try {
      if (mode.kind === 'replace') {
        const v = await api.replace(mode.name, sql);
        // The server's state reads "kept: why" or "fresh: why".
        const why = typeof v.state === 'string' && v.state ? v.state.slice(v.state.indexOf(':') + 1).trim() : '';
        const kept = v.state_kept ? 'Window state was kept' : 'State starts fresh';
        setResult(`Replaced ${v.name || mode.name}. ${kept}${why ? ` (${why})` : ''}.`, 'ok');
      } else {
        const r = await api.deploy(sql);
        const names = (r.statements || []).map((v) => v.name);
        setResult(`Deployed ${names.join(', ')}.`, 'ok');
        toast(`Deployed ${names.join(', ')}.`);
        await refresh();
        if (names.length === 1) {
          setMode({ kind: 'replace', name: names[0] });
          location.hash = `#/queries/${encodeURIComponent(names[0])}`;
        }
        return;
      }
      await refresh();
    } catch (err) {
      const errors = err.body && Array.isArray(err.body.errors) ? err.body.errors : [];
      if (err.status === 400 && errors.length) {
        setResult(`The statement does not compile: ${errors.length} error${errors.length > 1 ? 's' : ''}.`, 'error');
        showErrors(errors);
        const first = errors.find((e) => e.line > 0);
        if (first) editor.focusAt(first.line, first.column);
      } else if (err.status === 409) {
        setResult(`${err.message} Open that statement and use Replace, or choose another @Name.`, 'error');
      } else {
        setResult(err.message, 'error');
      }
    } finally {
      submitBtn.disabled = false;
    }
  }

  function renderList() {
    if (!views.length) {
      fill(list, h('li', { class: 'muted', style: { padding: '8px' }, text: 'No statements are running.' }));
      return;
    }
    fill(list, views.map((v) => h('li', null, h('a', {
      href: `#/queries/${encodeURIComponent(v.name)}`,
      'aria-current': v.name === selected ? 'true' : false,
    },
    h('span', { class: 'name' }, h('span', { class: `dot ${statusClass(v.status)}`, 'aria-hidden': 'true' }), v.name),
    h('span', { class: 'sub', text: `${v.source || '?'} → ${outputs(v)}` }),
    h('span', { class: 'sr-only', text: `, ${v.status}` })))));
  }

  function renderDetail() {
    const v = views.find((x) => x.name === selected);
    shownFor = v ? v.name : null;
    shownShape = v ? shape(v) : '';
    if (!selected) {
      fill(detail, h('p', { class: 'muted', text: 'Pick a statement on the left to see its plan and counters, or deploy a new one below.' }));
      return;
    }
    if (!v) {
      fill(detail, h('p', { class: 'muted', text: `No statement named “${selected}” is running.` }));
      return;
    }
    const del = h('button', { type: 'button', class: 'btn danger', on: { click: () => removeStatement(v.name, del) } }, 'Delete');
    fill(detail,
      h('header', null,
        h('h2', { text: v.name }),
        h('span', { class: `status ${statusClass(v.status)}`, id: 'detail-status', text: v.status || '' }),
        h('button', { type: 'button', class: 'btn', on: { click: () => edit(v) } }, 'Edit'),
        del),
      v.description ? h('p', { style: { margin: 0 }, text: v.description }) : null,
      h('p', { class: 'muted', style: { margin: 0 } }, 'reads ', h('a', { href: `#/streams/${encodeURIComponent(v.source || '')}`, text: v.source || '?' }),
        ' · writes to ', outputs(v), v.widget && Object.keys(v.widget).length ? ` · widget: ${widgetText(v.widget)}` : ''),
      h('div', null, h('h3', { class: 'section-title', text: 'Counters' }), h('div', { id: 'detail-counters' })),
      h('div', { id: 'detail-sinks' }),
      h('div', null, h('h3', { class: 'section-title', text: 'Plan' }), planView(v.plan)),
      h('div', null, h('h3', { class: 'section-title', text: 'SQL' }), h('pre', { class: 'sql', text: v.sql || '' })));
    updateCounters(v);
  }

  function updateCounters(v) {
    const st = v.stats || {};
    const now = Date.now();
    const prev = samples.get(v.name);
    samples.set(v.name, { t: now, st });
    const rate = (k) => {
      if (!prev || now - prev.t < 500) return null;
      return Math.max(0, ((st[k] || 0) - (prev.st[k] || 0)) / ((now - prev.t) / 1000));
    };
    const status = detail.querySelector('#detail-status');
    if (status) {
      status.textContent = v.status || '';
      status.className = `status ${statusClass(v.status)}`;
    }
    const box = detail.querySelector('#detail-counters');
    if (box) {
      fill(box, h('dl', { class: 'counters' },
        COUNTERS.map(([k, label, withRate]) => {
          const r = withRate ? rate(k) : null;
          return h('div', { dataset: { counter: k } }, h('dt', { text: label }),
            h('dd', null, fmt.num(st[k] ?? 0), r === null ? null : h('small', { text: `${fmt.num(Math.round(r * 10) / 10)}/s` })));
        }),
        SHARES.map(([k, label]) => {
          const r = rate(k);
          return h('div', { dataset: { counter: k } }, h('dt', { text: label }),
            h('dd', null, r === null ? '—' : `${Math.min(100, Math.round(r * 100))}%`, h('small', { text: 'of the time' })));
        }),
        st.started ? h('div', null, h('dt', { text: 'running since' }), h('dd', { style: { fontSize: '14px' } }, h('time', { datetime: st.started, text: fmt.dateTime(Date.parse(st.started)) }))) : null));
    }
    const sinks = detail.querySelector('#detail-sinks');
    if (sinks) {
      const rows = st.sinks || [];
      fill(sinks, rows.length ? [h('h3', { class: 'section-title', text: 'Sinks' }), h('table', { class: 'data' },
        h('thead', null, h('tr', null, ['sink', 'state', 'writes', 'failures', 'last error'].map((c, i) => h('th', { scope: 'col', class: i === 2 || i === 3 ? 'num' : false, text: c })))),
        h('tbody', null, rows.map((s) => h('tr', null,
          h('td', { text: s.type }), h('td', { text: s.state }), h('td', { class: 'num', text: fmt.num(s.writes ?? 0) }),
          h('td', { class: 'num', text: fmt.num(s.failures ?? 0) }), h('td', { text: s.last_error || '' })))))] : null);
    }
  }

  async function removeStatement(name, btn) {
    if (!btn.classList.contains('armed')) {
      btn.classList.add('armed');
      btn.textContent = `Confirm: delete ${name}`;
      setTimeout(() => {
        btn.classList.remove('armed');
        btn.textContent = 'Delete';
      }, 5000);
      return;
    }
    try {
      await api.remove(name);
    } catch (err) {
      notice.textContent = `${name} was not deleted: ${err.message}`;
      return;
    }
    notice.textContent = '';
    toast(`Deleted ${name}.`);
    if (mode.kind === 'replace' && mode.name === name) startNew(false);
    location.hash = '#/queries';
    await refresh();
  }

  async function refresh() {
    try {
      views = await api.queries();
      notice.textContent = '';
    } catch (err) {
      notice.textContent = `Cannot list the statements: ${err.message}`;
      return;
    }
    renderList();
    const v = views.find((x) => x.name === selected);
    if (v && shownFor === v.name && shownShape === shape(v)) updateCounters(v);
    else if (v || shownFor !== null || !detail.childElementCount) renderDetail();
  }

  // Function and annotation names complete in the editor.
  api.functions().then((r) => {
    const names = Array.isArray(r) ? r : [...(r?.functions || []), ...(r?.annotations || [])];
    editor.setWords(names.filter((x) => typeof x === 'string'));
  }, () => {});

  renderDetail();
  refresh();
  const poll = setInterval(refresh, POLL_MS);
  return {
    go(next) {
      selected = next;
      renderList();
      renderDetail();
    },
    leave() {
      clearInterval(poll);
    },
  };
}

const shape = (v) => JSON.stringify([v.sql, v.plan, v.widget, v.sinks, v.description]);

function outputs(v) {
  const out = [];
  if (v.target) out.push(`stream ${v.target}`);
  for (const s of v.sinks || []) out.push(s.type);
  return out.length ? out.join(', ') : 'results only';
}

function widgetText(w) {
  return Object.entries(w).map(([k, x]) => `${k}=${x}`).join(', ');
}
