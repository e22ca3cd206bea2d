// CellDrop page loader: checks what the page needs (WebAssembly, WebGL2), starts the Dear ImGui
// module on the canvas, and turns every failure into a message a person can act on.
// An ES module with no inline code anywhere, so the page's Content-Security-Policy can forbid it.
// Segmentation runs in a worker; segment.js carries messages between it and the module.
import { createSegmenter } from './segment.js';

const canvas = document.getElementById('canvas');
const message = document.getElementById('message');

function showFatal(text) {
  message.textContent = text;
  message.classList.add('fatal');
  document.body.dataset.state = 'fatal';
}

function supportsWebGL2() {
  try {
    return !!document.createElement('canvas').getContext('webgl2');
  } catch {
    return false;
  }
}

// The module reports a failure it meets before its first frame (e.g. no WebGL2 context) this way.
window.addEventListener('celldrop-fatal', (e) => showFatal(e.detail));

async function start() {
  if (typeof WebAssembly !== 'object') {
    showFatal('This browser cannot run WebAssembly, which CellDrop is made of. ' +
              'Please open this page in a current Chrome, Edge, Firefox or Safari.');
    return;
  }
  if (!supportsWebGL2()) {
    showFatal('This browser cannot draw with WebGL2, which CellDrop needs to show images. ' +
              'Turn on hardware acceleration in the browser settings, or use a current Chrome, ' +
              'Edge, Firefox or Safari.');
    return;
  }
  let createCellDropApp;
  try {
    ({ default: createCellDropApp } = await import('./celldrop-app.js'));
  } catch (err) {
    showFatal(`CellDrop's program file (celldrop-app.js) could not be loaded: ${err.message}. ` +
              'Check the connection to the site and reload; if you host CellDrop, rebuild it with scripts/build.sh wasm site.');
    return;
  }
  try {
    await createCellDropApp({
      canvas,
      segmenter: createSegmenter(),
      print: (text) => console.log(text),
      printErr: (text) => console.warn(text),
    });
  } catch (err) {
    showFatal(`CellDrop could not start: ${err && err.message ? err.message : err}. ` +
              'If you host CellDrop, check that celldrop-app.wasm is served as application/wasm; otherwise reload the page.');
  }
}

// A crash after start-up stops the drawing loop; say so instead of leaving a frozen picture.
window.addEventListener('error', (e) => {
  if (document.body.dataset.state === 'fatal') return;
  showFatal(`CellDrop stopped because of an internal error: ${e.message}. Reload the page to start again.`);
});

start();
