#!/usr/bin/env node
// The eyrie command. Runs the compiled JavaScript in dist/ when it is at least as new as every source
// file (npm ci and npm test build it; its one-file build with a code cache when there is one:
// bin/bundle.js), and the TypeScript sources through tsx otherwise, so an edit is never answered by
// stale code.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
const stamp = join(root, 'dist', '.built')

// only the TypeScript: dist/ is compiled from it (an edit of the addon's C++ does not make it stale)
const newestUnder = (dir) => {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestUnder(p))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  return newest
}

const fresh = existsSync(stamp) && statSync(stamp).mtimeMs >= newestUnder(join(root, 'src'))
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
