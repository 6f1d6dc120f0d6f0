#!/usr/bin/env node
// The eyrie command. Runs the compiled JavaScript in dist/ when it is at least as new as every source
// file (npm ci and npm test build it), and the TypeScript sources through tsx otherwise, so an edit
// is never answered by stale code.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
const stamp = join(root, 'dist', '.built')

const newestUnder = (dir) => {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(p) : statSync(p).mtimeMs)
  }
  return newest
}

const fresh = existsSync(stamp) && statSync(stamp).mtimeMs >= newestUnder(join(root, 'src'))
let main
if (fresh) ({ main } = await import('../dist/cli/main.js'))
else {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import('../src/cli/main.ts'))
}
process.exitCode = await main(process.argv)
