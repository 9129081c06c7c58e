// Node module hooks that load TensorFlow.js's ES module build (the one with gradients) in Node.
//
// Why: the CommonJS bundles TF.js ships for Node (`dist/*.node.js`) leave out every gradient
// function (`tf.variableGrads` fails with "gradient function not found"); only the ES module
// build registers them, through `@tensorflow/tfjs-core/dist/register_all_gradients.js`. That
// build is written for bundlers: extensionless and directory imports, `.js` files in packages
// without `"type": "module"`, and a namespace import of the CommonJS `seedrandom` whose
// generators Node's CommonJS export detection does not see. These hooks resolve exactly those
// cases, for modules inside `node_modules/@tensorflow/`, so that core, the cpu and wasm backends
// and the gradients are one module graph with one engine. Plain JavaScript: hooks run on
// Node's loader thread, where the TypeScript loader is not installed.

import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TFJS_DIR = '/node_modules/@tensorflow/';
const PACKAGE = /^@tensorflow\/tfjs-[a-z-]+$/;
const SHIM = 'sinter-bench-shim:';

/** Emscripten's generated loaders (`wasm-out/`) are CommonJS; everything else TF.js ships in `dist/` is an ES module. */
function formatOf(url) {
  return url.includes('/wasm-out/') ? 'commonjs' : 'module';
}

function isFile(path) {
  return existsSync(path) && statSync(path).isFile();
}

export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (PACKAGE.test(specifier)) {
    const pkgJson = fileURLToPath((await next(`${specifier}/package.json`, context)).url);
    const pkg = createRequire(import.meta.url)(pkgJson);
    if (typeof pkg.module === 'string') return { url: pathToFileURL(join(dirname(pkgJson), pkg.module)).href, format: 'module', shortCircuit: true };
  }
  if (!parent.includes(TFJS_DIR)) return next(specifier, context);
  if (specifier === 'seedrandom') return { url: `${SHIM}seedrandom?from=${encodeURIComponent(parent)}`, shortCircuit: true };
  if (specifier.startsWith('./') || specifier.startsWith('../')) {
    const base = fileURLToPath(new URL(specifier, parent));
    for (const candidate of [base, `${base}.js`, join(base, 'index.js')]) {
      if (isFile(candidate)) {
        const url = pathToFileURL(candidate).href;
        return { url, format: formatOf(url), shortCircuit: true };
      }
    }
  }
  const r = await next(specifier, context);
  return r.url.includes(TFJS_DIR) && r.url.includes('/dist/') ? { ...r, format: 'module' } : r;
}

export async function load(url, context, next) {
  if (!url.startsWith(SHIM)) return next(url, context);
  // `seedrandom` assigns its generators as properties of its export; name them as ES exports.
  const from = decodeURIComponent(new URL(url).searchParams.get('from') ?? '');
  const real = createRequire(fileURLToPath(from))('seedrandom');
  const names = Object.keys(real).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k));
  const source = [
    `import { createRequire } from 'node:module';`,
    `const real = createRequire(${JSON.stringify(fileURLToPath(from))})('seedrandom');`,
    'export default real;',
    ...names.map((k) => `export const ${k} = real[${JSON.stringify(k)}];`),
  ].join('\n');
  return { format: 'module', source, shortCircuit: true };
}
