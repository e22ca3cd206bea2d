// CellDrop page loader: checks what the page needs (WebAssembly, WebGL2), starts the Dear ImGui
// module on the canvas, and turns every failure into a message a person can act on.
// An ES module with no inline code anywhere, so the page's Content-Security-Policy can forbid it.
// Segmentation runs in a worker; segment.js carries messages between it and the module. Images come
// in here (drop anywhere, paste, the Open button's file chooser) and go to page_api.js's open().
import { createSegmenter } from './segment.js';
import { installPageApi } from './page_api.js';

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

// Drag and drop anywhere on the page, with a hint while something is dragged over it. dragenter and
// dragleave fire for every child element crossed, so a counter tells when the drag really left.
function acceptDrops(api, segmenter) {
  const hint = document.createElement('div');
  hint.id = 'drop-hint';
  hint.className = 'drop-hint';
  hint.setAttribute('aria-hidden', 'true');
  hint.textContent = 'Drop an image to open it (PNG, JPEG, TIFF). It stays on this computer.';
  document.body.appendChild(hint);
  let depth = 0;
  const carriesFiles = (e) => Array.from(e.dataTransfer?.types || []).includes('Files');
  const show = (on) => document.body.classList.toggle('dragging', on);
  window.addEventListener('dragenter', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    depth++;
    show(true);
  });
  window.addEventListener('dragover', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();  // without this the browser would open the file itself, leaving the page
    e.dataTransfer.dropEffect = 'copy';
  });
  window.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) show(false);
  });
  window.addEventListener('drop', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    depth = 0;
    show(false);
    const files = Array.from(e.dataTransfer.files);
    // A model's .onnx and its .json card dropped together are a model to load, not an image.
    if (files.some((f) => /\.(onnx|json)$/i.test(f.name))) {
      segmenter.addModel(files).catch(() => {});  // the panel says why it could not be used
      return;
    }
    if (files.length) api.open(files).catch(() => {});  // the page shows why it could not be opened
  });
}

// Paste: an image file copied in a file manager, or image data copied from another program.
function acceptPaste(api) {
  window.addEventListener('paste', (e) => {
    const items = Array.from(e.clipboardData?.items || []);
    const item = items.find((i) => i.kind === 'file' && (i.type.startsWith('image/') || i.type === ''));
    const file = item?.getAsFile() || e.clipboardData?.files?.[0];
    if (!file) return;
    e.preventDefault();
    api.open(file).catch(() => {});
  });
}

// The Open button (in the module's panel) clicks this hidden file chooser: one image, or several to
// step through.
function acceptChosenFiles(api) {
  const input = document.createElement('input');
  input.type = 'file';
  input.id = 'celldrop-open';
  input.multiple = true;
  input.accept = 'image/png,image/jpeg,image/tiff,image/bmp,.tif,.tiff,.png,.jpg,.jpeg,.bmp';
  input.hidden = true;
  input.addEventListener('change', () => {
    const files = Array.from(input.files);
    input.value = '';  // choosing the same file again must open it again
    if (files.length) api.open(files).catch(() => {});
  });
  document.body.appendChild(input);
}

// "Load your own model" (in the module's panel) clicks this one: the .onnx and its .json together.
function acceptChosenModels(segmenter) {
  const input = document.createElement('input');
  input.type = 'file';
  input.id = 'celldrop-load-model';
  input.multiple = true;
  input.accept = '.onnx,.json';
  input.hidden = true;
  input.addEventListener('change', () => {
    const files = Array.from(input.files);
    input.value = '';
    if (files.length) segmenter.addModel(files).catch(() => {});
  });
  document.body.appendChild(input);
}

// The pixel size, for a finger: the panel's field is drawn on the canvas, for which no on-screen
// keyboard comes up, so the module asks the page (celldrop-ask-pixel-size) and the page asks in a
// field of its own, with a decimal keypad, then sets the size through the page API.
function askPixelSizeByTouch(api) {
  const make = (tag, properties) => Object.assign(document.createElement(tag), properties);
  const dialog = make('dialog', { id: 'pixel-size-dialog', className: 'ask' });
  const label = make('label', { textContent: 'Pixel size in micrometres (0: the file\'s own)' });
  const input = make('input', { id: 'pixel-size-input', inputMode: 'decimal', autocomplete: 'off' });
  label.appendChild(input);
  const problem = make('p', { className: 'problem' });
  problem.setAttribute('role', 'alert');
  const cancel = make('button', { type: 'button', textContent: 'Cancel', className: 'secondary' });
  const set = make('button', { type: 'button', textContent: 'Set' });
  const buttons = make('div', { className: 'buttons' });
  buttons.append(cancel, set);
  dialog.append(label, problem, buttons);
  document.body.appendChild(dialog);

  const apply = () => {
    const text = input.value.trim().replace(',', '.');  // a decimal comma, as much of Europe writes it
    if (!/^(\d+\.?\d*|\.\d+)$/.test(text)) {
      problem.textContent = 'Type a number, like 0.325.';
      return;
    }
    // Closed at once (the API resolves only once the whole result is read back); a size the page
    // refuses opens it again with the reason.
    dialog.close();
    api.setPixelSize(Number(text)).catch((e) => {
      problem.textContent = e.message;
      if (!dialog.open) dialog.showModal();
    });
  };
  set.addEventListener('click', apply);
  cancel.addEventListener('click', () => dialog.close());
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') apply();
  });
  window.addEventListener('celldrop-ask-pixel-size', (e) => {
    input.value = e.detail.current > 0 ? String(e.detail.current) : '';
    problem.textContent = '';
    if (!dialog.open) dialog.showModal();  // a second tap while it is open would throw
    input.focus();
  });
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
    const segmenter = createSegmenter();
    const module = await createCellDropApp({
      canvas,
      segmenter,
      print: (text) => console.log(text),
      printErr: (text) => console.warn(text),
    });
    const api = installPageApi(module);
    acceptDrops(api, segmenter);
    acceptPaste(api);
    acceptChosenFiles(api);
    acceptChosenModels(segmenter);
    askPixelSizeByTouch(api);
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
