// Lint: the layering rules of DESIGN.md §6 ("who may import whom") and the purity of reconcilers/.
// cli/ is the composition root, so it may also open a store.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const allowed: Record<string, string[]> = {
  cli: ['api', 'controllers', 'agent', 'core', 'store', 'reconcilers'],
  controllers: ['reconcilers', 'core'],
  api: ['store', 'core'],
  store: ['core'],
  agent: ['core'],
  reconcilers: ['core'],
  core: [],
};
// reconcilers/ decide; they do not touch the outside world or read the clock.
const impure = [/from ['"]node:(fs|http|https|net|child_process|os)['"]/, /from ['"]dockerode['"]/, /\bDate\.now\(/, /\bMath\.random\(/, /new Date\(\)/];

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const problems: string[] = [];
for (const layer of Object.keys(allowed)) {
  const dir = join(root, layer);
  try { statSync(dir); } catch { continue; }
  for (const file of files(dir)) {
    const src = readFileSync(file, 'utf8');
    const rel = relative(root, file);
    src.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = relative(root, resolve(dirname(file), m[1])).split('/')[0];
        if (target !== layer && !allowed[layer].includes(target)) {
          problems.push(`${rel}:${i + 1}: ${layer}/ may not import ${target}/ (allowed: ${allowed[layer].join(', ') || 'nothing'})`);
        }
      }
      if (layer === 'reconcilers') {
        for (const re of impure) if (re.test(line)) problems.push(`${rel}:${i + 1}: reconcilers/ must stay pure (no I/O, clock or randomness): ${line.trim()}`);
      }
    });
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`${problems.length} layering problem(s); see DESIGN.md §6`);
  process.exit(1);
}
console.log('layers ok');
