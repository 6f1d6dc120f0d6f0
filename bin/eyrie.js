#!/usr/bin/env node
// The eyrie command. Runs the compiled JavaScript in dist/ when it is at least as new as every source
// file (bin/fresh.js; npm ci and npm test build it): its one-file build with a code cache when there
// is one (bin/bundle.js), else its modules; and the TypeScript sources through tsx otherwise, so an
// edit is never answered by stale code.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { distFresh } from './fresh.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const fresh = distFresh(root)
const bundle = join(root, 'dist', 'cli', 'eyrie.cjs')
let main
if (fresh && existsSync(bundle)) ({ main } = (await import('./bundle.js')).loadBundle(bundle).exports)
else if (fresh) ({ main } = await import('../dist/cli/main.js'))
else {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import('../src/cli/main.ts'))
}
process.exitCode = await main(process.argv)
