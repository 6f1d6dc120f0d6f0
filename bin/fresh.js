// Whether dist/ holds what the sources say: its stamp (written by scripts/build.sh after a clean
// build) is at least as new as every TypeScript file under src/. bin/eyrie.js runs dist/ only then,
// so an edit is never answered by stale code; tests that need the built CLI ask the same.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

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

/** `root`: the package's directory. */
export const distFresh = (root) => {
  const stamp = join(root, 'dist', '.built')
  return existsSync(stamp) && statSync(stamp).mtimeMs >= newestUnder(join(root, 'src'))
}
