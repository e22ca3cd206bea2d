// Files the operating system hands to the installed app ("Open with CellDrop" on a TIFF, PNG or JPEG;
// manifest.webmanifest registers those types) arrive through the Launch Queue, once per launch. They
// are given to the page's own open function, window.celldrop.open(file), the same one that drag and
// drop uses, as soon as the page has published it.
const PAGE_API_TIMEOUT_MS = 120_000;

function whenPageApiReady() {
  return new Promise((resolve, reject) => {
    const since = performance.now();
    const poll = () => {
      if (typeof window.celldrop?.open === 'function') resolve(window.celldrop);
      else if (performance.now() - since > PAGE_API_TIMEOUT_MS) reject(new Error('the page did not finish starting'));
      else setTimeout(poll, 100);
    };
    poll();
  });
}

async function openLaunched(params) {
  const handles = params?.files ?? [];
  if (handles.length === 0) return;  // started from its icon: nothing to open
  // The page shows one image at a time: the first file chosen is the one opened.
  const handle = handles[0];
  try {
    const file = await handle.getFile();
    const celldrop = await whenPageApiReady();
    await celldrop.open(file);
    if (handles.length > 1) {
      console.warn(`CellDrop opened ${file.name}, the first of the ${handles.length} files it was given; open the others one at a time.`);
    }
  } catch (e) {
    console.error(`CellDrop could not open the file it was launched with (${handle?.name ?? 'unnamed'}): ${e?.message ?? e}. Drop it on the page instead.`);
  }
}

if ('launchQueue' in window) window.launchQueue.setConsumer(openLaunched);
