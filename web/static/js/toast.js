// toast shows a short message in the corner, read out by screen readers.

let timer = 0;

export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  clearTimeout(timer);
  timer = setTimeout(() => { el.textContent = ''; }, 5000);
}
