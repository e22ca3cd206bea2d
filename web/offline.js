// Registers CellDrop's service worker (sw.js), which keeps the app and its models for offline use
// and makes the page cross-origin isolated on hosts that cannot send COOP/COEP headers themselves.
// Isolation needs the page itself to come through the worker, so a page that is not yet isolated
// reloads once when the worker takes it over. Each start also looks for a new build; one found is
// installed in the background and takes over (with one reload) when the page next starts. Each kind of reload happens at most once per tab session, so a browser that ignores the
// worker's headers never loops.
const RELOADED = 'celldrop-sw-reloaded';  // sessionStorage: why the page last reloaded itself

function reloadOnce(reason) {
  try {
    if (sessionStorage.getItem(RELOADED) === reason) return;
    sessionStorage.setItem(RELOADED, reason);
  } catch {
    return;  // no storage (a sandboxed frame): better one thread than a reload loop
  }
  location.reload();
}

async function start() {
  if (!('serviceWorker' in navigator)) return;  // the page works online all the same
  const hadController = !!navigator.serviceWorker.controller;
  if (hadController && self.crossOriginIsolated) {
    try { sessionStorage.removeItem(RELOADED); } catch { /* nothing to forget */ }
  }
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!self.crossOriginIsolated) reloadOnce('isolation');
    else if (hadController) reloadOnce('update');  // the page would otherwise mix two builds' files
  });
  let registration;
  try {
    const here = new URL('./', import.meta.url);
    registration = await navigator.serviceWorker.register(new URL('sw.js', here), { scope: here.href });
  } catch (e) {
    console.warn(`CellDrop will not work offline in this browser: its service worker (sw.js) could not be registered (${e.message}).`);
    return;
  }
  if (!hadController) return;
  if (registration.waiting) {
    registration.waiting.postMessage('skip-waiting');
  } else {
    // Look for a new build now: the browser's own check after a navigation waits for the worker to be
    // idle, which a busy page may put off for a long time. A new build found now is installed in the
    // background and takes over at the next start. Offline, there is nothing to find.
    registration.update().catch(() => {});
  }
}

start();
