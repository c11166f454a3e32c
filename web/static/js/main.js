// The page shell: hash routes to the three views and the admin token.

import { token } from './api.js';
import { toast } from './toast.js';
import * as dashboard from './dashboard.js';
import * as queries from './queries.js';
import * as streams from './streams.js';

const VIEWS = { dashboard: ['Dashboard', dashboard], queries: ['Queries', queries], streams: ['Streams', streams] };
const main = document.getElementById('main');
let current = null; // {name, view}

function parse() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { name: VIEWS[name] ? name : 'dashboard', arg: rest.length ? decodeURIComponent(rest.join('/')) : '' };
}

function route() {
  const { name, arg } = parse();
  if (current && current.name === name) {
    current.view.go(arg);
    return;
  }
  current?.view.leave();
  const [title, mod] = VIEWS[name];
  document.title = `${title} · sluice`;
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const focus = current !== null;
  current = { name, view: mod.mount(main, arg) };
  if (focus) main.focus();
}

function tokenForm() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('admin-token');
  const state = document.getElementById('token-state');
  const show = () => { state.textContent = token.get() ? 'set for this tab' : ''; };
  input.value = token.get();
  show();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    token.set(input.value.trim());
    show();
    toast(token.get() ? 'Admin token saved for this browser tab.' : 'Admin token cleared.');
  });
}

document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
tokenForm();
route();
