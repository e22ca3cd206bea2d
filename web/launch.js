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
  // Several files become the page's list to step through, as when they are dropped together.
  try {
    const files = await Promise.all(handles.map((h) => h.getFile()));
    const celldrop = await whenPageApiReady();
    await celldrop.open(files);
  } catch (e) {
    console.error(`CellDrop could not open the file${handles.length > 1 ? 's' : ''} it was launched with ` +
                  `(${handles.map((h) => h?.name ?? 'unnamed').join(', ')}): ${e?.message ?? e}. Drop ${handles.length > 1 ? 'them' : 'it'} on the page instead.`);
  }
}

if ('launchQueue' in window) window.launchQueue.setConsumer(openLaunched);
