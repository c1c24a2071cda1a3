/**
 * The browser client's files, served on the WebSocket port: the page, its stylesheet and icon
 * from `web/`, and the ES modules tsc built into `dist/lib/` that the page imports (found by
 * following its imports from `dist/lib/web/main.js`; nothing else under dist/ is served). A
 * module of that set that imports anything but another relative module (`node:net`, a
 * package) would not load in a browser: the server refuses to start with it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../root.js';

export interface WebFile {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.js': 'text/javascript; charset=utf-8',
};

/** `import … from '…'`, `export … from '…'` and `import '…'` (tsc output: one statement per line start) */
const IMPORT = /^\s*(?:import|export)\s*(?:[\w*{}\s,$]+from\s*)?['"]([^'"]+)['"]/gm;

/** the module's relative imports; throws on any other */
export function relativeImports(source: string, name: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT)) {
    const spec = m[1]!;
    if (!spec.startsWith('./') && !spec.startsWith('../')) throw new Error(`the browser client: ${name} imports ${spec}, which a browser cannot load`);
    out.push(spec);
  }
  return out;
}

/** url path -> file, read once at start */
export function loadWebFiles(root = REPO_ROOT): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  const add = (url: string, file: string) => files.set(url, { type: TYPES[path.extname(file)] ?? 'application/octet-stream', body: readFileSync(file) });
  add('/', path.join(root, 'web', 'index.html'));
  for (const name of ['chat.css', 'favicon.svg']) add(`/${name}`, path.join(root, 'web', name));
  const lib = path.join(root, 'dist', 'lib');
  if (!existsSync(path.join(lib, 'web', 'main.js'))) throw new Error(`the browser client is not built: ${path.join(lib, 'web', 'main.js')} is missing (npm run build)`);
  const todo = [path.join(lib, 'web', 'main.js')];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    const rel = path.relative(lib, file);
    if (rel.startsWith('..')) throw new Error(`the browser client: ${file} is outside dist/lib`);
    const url = `/js/${rel.split(path.sep).join('/')}`;
    if (files.has(url)) continue;
    add(url, file);
    for (const spec of relativeImports(files.get(url)!.body.toString('utf8'), url)) todo.push(path.resolve(path.dirname(file), spec));
  }
  return files;
}
