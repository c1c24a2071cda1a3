/**
 * The layering of docs/ARCHITECTURE.md, enforced: the test reads the doc's Layers table (what
 * each layer may import, which Node modules it never imports) and every `import`/`export ... from`
 * of every file under lib/, and lists each edge the table does not allow. The last test shows it
 * catches a forbidden edge.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { cells, section } from './markdown.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIB = path.join(ROOT, 'lib');

interface Rule {
  mayImport: Set<string>;
  never: string[];
}

function rules(md: string): Map<string, Rule> {
  const out = new Map<string, Rule>();
  for (const line of section(md, /^Layers$/)?.lines ?? []) {
    if (!line.startsWith('| `')) continue;
    const [layer, , may, never] = cells(line).map((c) => [...c.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
    out.set(layer![0]!, { mayImport: new Set(may), never: never ?? [] });
  }
  return out;
}

/** the layer of a file under lib/: its folder, or the name of a top-level file */
function layerOf(file: string): string {
  const rel = path.relative(LIB, file).split(path.sep);
  return rel.length === 1 ? rel[0]!.replace(/\.(ts|js)$/, '') : rel[0]!;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

const IMPORT = /^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'|^import\s+'([^']+)'/gm;

function problems(table: Map<string, Rule>, files: Array<{ file: string; text: string }>): string[] {
  const out: string[] = [];
  for (const { file, text } of files) {
    const from = layerOf(file);
    const rule = table.get(from);
    const name = path.relative(ROOT, file);
    if (!rule) {
      out.push(`${name}: layer "${from}" is not in docs/ARCHITECTURE.md`);
      continue;
    }
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) {
        const to = layerOf(path.resolve(path.dirname(file), spec));
        if (to !== from && !rule.mayImport.has(to)) out.push(`${name}: ${from} -> ${to} (${spec})`);
      } else if (rule.never.includes(spec)) {
        out.push(`${name}: ${from} imports ${spec}`);
      }
    }
  }
  return out;
}

const table = rules(readFileSync(path.join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8'));
const files = sources(LIB).map((file) => ({ file, text: readFileSync(file, 'utf8') }));

t.test('docs/ARCHITECTURE.md has a rule for every layer of lib/', async (t) => {
  t.ok(table.size >= 10, `${table.size} layers read from the doc`);
  t.same([...new Set(files.map((f) => layerOf(f.file)))].filter((l) => !table.has(l)), []);
});

t.test('no file of lib/ imports across an edge the doc does not allow', async (t) => {
  t.same(problems(table, files), []);
});

t.test('the check catches a forbidden edge', async (t) => {
  const model = { file: path.join(LIB, 'models/x.ts'), text: "import type { Hub } from '../core/hub.js';\n" };
  const proto = { file: path.join(LIB, 'protocol/x.ts'), text: "import { parseConv } from '../store/conv.js';\n" };
  const core = { file: path.join(LIB, 'core/x.ts'), text: "import net from 'node:net';\nexport { y } from '../server/y.js';\n" };
  t.same(problems(table, [model, proto, core]), [
    'lib/models/x.ts: models -> core (../core/hub.js)',
    'lib/protocol/x.ts: protocol -> store (../store/conv.js)',
    'lib/core/x.ts: core imports node:net',
    'lib/core/x.ts: core -> server (../server/y.js)',
  ]);
});
