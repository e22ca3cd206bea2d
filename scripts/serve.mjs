#!/usr/bin/env node
// A small static file server for CellDrop's assembled site, with no dependencies.
//
//   node scripts/serve.mjs [--root DIR] [--port N] [--plain]   (PORT in the environment also sets the port)
//
// It sends the headers that make the page cross-origin isolated (COOP/COEP, needed for WebAssembly
// threads) and the MIME types browsers insist on (application/wasm for streaming compilation).
// --plain leaves the isolation headers out, as most static hosts (GitHub Pages, say) do: the page's
// service worker (web/sw.js) then supplies them, which is what the tests check with it.
// It binds 127.0.0.1 only: it is for looking at CellDrop on this computer, not for the network.
// --port 0 picks a free port; the address actually used is always printed.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
  '.wgsl': 'text/plain; charset=utf-8',
};

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  // Always revalidate: after a rebuild the browser must not mix an old .js with a new .wasm.
  'Cache-Control': 'no-cache',
};

function parseArgs(argv) {
  const opts = { root: path.resolve(HERE, '..', 'build', 'site'), port: process.env.PORT ?? '8080', isolation: true };
  if (process.env.CELLDROP_BUILD) opts.root = path.resolve(process.env.CELLDROP_BUILD, 'site');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--root') opts.root = path.resolve(value());
    else if (a === '--port') opts.port = value();
    else if (a === '--plain') opts.isolation = false;
    else if (a.startsWith('--root=')) opts.root = path.resolve(a.slice(7));
    else if (a.startsWith('--port=')) opts.port = a.slice(7);
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/serve.mjs [--root DIR] [--port N] [--plain]   (PORT=N also works; 0 = any free port;\n' +
                  '       --plain: no COOP/COEP/CORP headers, like a plain static host)');
      process.exit(0);
    } else throw new Error(`unknown argument '${a}' (try --help)`);
  }
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`port '${opts.port}' is not a number from 0 to 65535`);
  opts.port = port;
  return opts;
}

// Maps a URL path to a file under root, or null when the path is malformed or escapes the root.
export function resolveUnderRoot(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const full = path.resolve(root, '.' + path.posix.normalize('/' + decoded));
  if (full !== root && !full.startsWith(root + path.sep)) return null;
  return full;
}

// { isolation: false } serves without COOP/COEP/CORP, like a plain static host.
export function createServer(root, { isolation = true } = {}) {
  const realRoot = fs.realpathSync(root);
  const baseHeaders = { ...(isolation ? ISOLATION_HEADERS : {}), ...COMMON_HEADERS };
  const send = (res, status, headers, body) => {
    res.writeHead(status, { ...baseHeaders, ...headers });
    res.end(body);
  };
  const sendText = (res, status, text, extra = {}) =>
    send(res, status, { 'Content-Type': 'text/plain; charset=utf-8', ...extra }, `${text}\n`);
  return http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'Only GET and HEAD are served here.', { Allow: 'GET, HEAD' });
      return;
    }
    const url = new URL(req.url, 'http://localhost');
    let file = resolveUnderRoot(realRoot, url.pathname);
    if (!file) {
      sendText(res, 400, 'Bad path.');
      return;
    }
    fs.stat(file, (err, st) => {
      if (!err && st.isDirectory()) {
        if (!url.pathname.endsWith('/')) {
          // Relative links in an index page only work from a URL that ends in a slash.
          send(res, 301, { Location: url.pathname + '/' + url.search }, '');
          return;
        }
        file = path.join(file, 'index.html');
      }
      // Symbolic links must not lead outside the root either.
      fs.realpath(file, (rerr, real) => {
        if (rerr || (real !== realRoot && !real.startsWith(realRoot + path.sep))) {
          sendText(res, 404, `Not found: ${url.pathname}`);
          return;
        }
        fs.stat(real, (serr, fst) => {
          if (serr || !fst.isFile()) {
            sendText(res, 404, `Not found: ${url.pathname}`);
            return;
          }
          const type = MIME[path.extname(real).toLowerCase()] ?? 'application/octet-stream';
          res.writeHead(200, { ...baseHeaders, 'Content-Type': type, 'Content-Length': fst.size });
          if (req.method === 'HEAD') {
            res.end();
            return;
          }
          const stream = fs.createReadStream(real);
          stream.on('error', () => res.destroy());
          stream.pipe(res);
        });
      });
    });
  });
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`serve.mjs: ${e.message}`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(opts.root, 'app', 'index.html'))) {
    console.error(`serve.mjs: ${opts.root} holds no assembled site (app/index.html is missing). ` +
                  'Build it first: bash scripts/build.sh wasm site');
    process.exit(1);
  }
  const server = createServer(opts.root, { isolation: opts.isolation });
  server.on('error', (e) => {
    if (e.code === 'EADDRINUSE') {
      console.error(`serve.mjs: port ${opts.port} is already in use. Stop the other server, or choose another port: --port 8081 (or PORT=8081).`);
    } else {
      console.error(`serve.mjs: ${e.message}`);
    }
    process.exit(1);
  });
  server.listen(opts.port, '127.0.0.1', () => {
    const { port } = server.address();
    console.log(`Serving ${opts.root}${opts.isolation ? '' : ' without COOP/COEP headers (--plain)'}`);
    console.log(`CellDrop is running at http://127.0.0.1:${port}/app/`);
    console.log(`About CellDrop and its lessons: http://127.0.0.1:${port}/`);
    console.log('Press Ctrl+C to stop.');
  });
  // Browsers keep connections open, so waiting for them to close would hang Ctrl+C.
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
