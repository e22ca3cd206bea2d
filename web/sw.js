// CellDrop's service worker (registered by offline.js, scope /app/). Two jobs:
//  1. Offline: the app's files (listed by build.js) and the models (/models/index.json and what it
//     names) are cached on the first visit, so a second visit works with the network off.
//  2. Cross-origin isolation on static hosts that cannot set headers: every same-origin response it
//     hands out carries COOP/COEP/CORP, so the page (after one reload) gets SharedArrayBuffer and
//     ONNX Runtime Web can run its WebAssembly on several threads.
// Nothing here ever contacts another origin: requests to other origins (an image URL the user typed)
// are not touched at all, and never cached.
//
// build.js is written by scripts/assemble-site.sh: self.CELLDROP_BUILD = { id, files }. Its id is a
// hash of the site's files, so a new deploy changes build.js, the browser sees a new service worker,
// and that worker fills a new cache and deletes the old one when it takes over.
importScripts('./build.js');

const BUILD = self.CELLDROP_BUILD;
const CACHE_PREFIX = 'celldrop-';
const CACHE = `${CACHE_PREFIX}${BUILD.id}`;
const SCOPE = new URL('./', self.location.href);
const MODELS = new URL('../models/', self.location.href);

// Headers a static host may not send; harmless to repeat when it does.
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

function isolate(response) {
  // Opaque responses (no-cors, other origins) cannot be read or rewrapped; they are passed on as they are.
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  // A new Response also drops the "redirected" flag, which a navigation would refuse.
  return new Response(NULL_BODY_STATUS.has(response.status) ? null : response.body,
    { status: response.status, statusText: response.statusText, headers });
}

// Fresh from the server, not from the HTTP cache: after a deploy the cache must not mix builds.
const fresh = (url) => new Request(url, { cache: 'no-cache' });

// The models the page can pick: every card in models/index.json and the ONNX file it names. One model
// that cannot be stored (a full disk, a file missing on the host) does not cost the others, nor the
// app: it is cached later when it is first used.
async function cacheModels(cache) {
  const index = await fetch(fresh(new URL('index.json', MODELS)));
  if (!index.ok) throw new Error(`models/index.json: HTTP ${index.status}`);
  const listed = ((await index.clone().json()).models ?? []).map((m) => m?.name).filter((n) => typeof n === 'string');
  await cache.put(new URL('index.json', MODELS).href, index);
  await Promise.all(listed.map(async (name) => {
    const cardUrl = new URL(`${encodeURIComponent(name)}.json`, MODELS);
    try {
      const card = await fetch(fresh(cardUrl));
      if (!card.ok) throw new Error(`HTTP ${card.status}`);
      const file = (await card.clone().json())?.onnx?.file;
      if (typeof file !== 'string' || file.includes('/')) throw new Error('its card names no ONNX file');
      const onnx = await fetch(fresh(new URL(file, MODELS)));
      if (!onnx.ok) throw new Error(`${file}: HTTP ${onnx.status}`);
      await cache.put(cardUrl.href, card);
      await cache.put(new URL(file, MODELS).href, onnx);
    } catch (e) {
      console.warn(`CellDrop offline cache: the model ${name} was not stored (${e.message}); it will be when it is first used.`);
    }
  }));
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // The app itself is all or nothing: a half-cached app would fail offline in confusing ways, so a
    // failure here fails the install and the browser tries again on the next visit.
    await cache.addAll(BUILD.files.map((f) => fresh(new URL(f, SCOPE))));
    try {
      await cacheModels(cache);
    } catch (e) {
      console.warn(`CellDrop offline cache: the model list was not stored (${e.message}).`);
    }
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
    }
    // Take over the pages already open: a first visit is then cached as it goes, and offline.js
    // reloads a page that is not yet cross-origin isolated.
    await self.clients.claim();
  })());
});

// offline.js asks a waiting (newer) worker to take over when a page starts, before the page has
// loaded anything that could mix with the old build.
self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});

// Only files of the app and the models are stored as they are used; other same-origin URLs (an image
// on this host given with ?image=) go to the network each time.
function storable(url) {
  return url.href.startsWith(SCOPE.href) || url.href.startsWith(MODELS.href);
}

// "bytes=a-b", "bytes=a-", "bytes=-n" of a cached full response, as a 206. Multiple ranges are not
// worth the complexity here: the whole file (200) is a valid answer to those.
async function partial(cached, rangeHeader) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
  if (!m || (m[1] === '' && m[2] === '')) return cached;
  // A Blob is backed by the cache's storage, so slicing a large model does not copy it into memory.
  const blob = await cached.blob();
  const size = blob.size;
  let start, end;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) {
    return new Response(null, { status: 416, statusText: 'Range Not Satisfiable', headers: { 'Content-Range': `bytes */${size}` } });
  }
  const headers = new Headers(cached.headers);
  headers.set('Content-Range', `bytes ${start}-${end}/${size}`);
  headers.set('Content-Length', String(end - start + 1));
  return new Response(blob.slice(start, end + 1), { status: 206, statusText: 'Partial Content', headers });
}

async function respond(event) {
  const request = event.request;
  const url = new URL(request.url);
  const cache = await caches.open(CACHE);
  const range = request.headers.get('range');
  // A navigation to /app/?image=... is the same page: its query is for app.js, not for the cache.
  const cached = await cache.match(request, { ignoreSearch: request.mode === 'navigate' });
  if (cached) return isolate(range ? await partial(cached, range) : cached);
  // Cached files are answered from the cache (same build, even online); others from the network.
  const response = await fetch(request);
  // Only whole, successful, same-origin answers are kept: the Cache API refuses a 206 anyway.
  if (!range && response.status === 200 && response.type === 'basic' && storable(url)) {
    event.waitUntil(cache.put(request, response.clone()).catch((e) => {
      console.warn(`CellDrop offline cache: ${url.pathname} was not stored (${e.message}).`);
    }));
  }
  return isolate(response);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  if (new URL(request.url).origin !== self.location.origin) return;
  // Chromium's "only-if-cached" requests must stay same-origin, or fetch() throws.
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  event.respondWith(respond(event));
});
