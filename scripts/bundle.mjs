// Part of the build (scripts/build.sh, after tsc): the CLI as one CommonJS file, dist/cli/eyrie.cjs,
// and V8's code cache for it, made after every module a command may load was loaded (loadAll in
// src/cli/commands.ts; bin/bundle.js runs the bundle). Packages with native parts or that load only
// when used stay outside (required at run time).
import { renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { cacheOf, loadBundle } from '../bin/bundle.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const bundle = `${root}dist/cli/eyrie.cjs`

await build({
  entryPoints: [`${root}dist/cli/main.js`],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['lmdb', 'msgpackr', 'kafkajs', 'cli-table3'],
  // the modules' own URL becomes the bundle's: it sits in dist/cli/ as they did in dist/<dir>/, so
  // paths relative to it (the addon's ../../build/Release) still hold
  define: { 'import.meta.url': '__bundle_url' },
  banner: { js: "const __bundle_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
})

const { exports, script } = loadBundle(bundle, { cache: false })
await exports.loadAll()
const tmp = `${cacheOf(bundle)}.tmp`
writeFileSync(tmp, script.createCachedData())
renameSync(tmp, cacheOf(bundle))
