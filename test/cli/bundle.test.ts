// The CLI's one-file build (scripts/bundle.mjs, made by the build that `npm test` starts with): V8
// takes its code cache, it answers as the modules do, and a cache V8 refuses only costs speed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
// @ts-expect-error plain JavaScript beside the command (bin/), no types
import { cacheOf, loadBundle } from '../../bin/bundle.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bundle = join(root, 'dist', 'cli', 'eyrie.cjs')

const built = (): void => {
  assert.ok(existsSync(bundle) && existsSync(cacheOf(bundle)), `no ${bundle} and its cache: run npm run build`)
}

test('given the build, V8 accepts the bundle\'s code cache and the bundle exports the CLI', () => {
  built()
  const { exports, script } = loadBundle(bundle)
  assert.equal(script.cachedDataRejected, false)
  assert.equal(typeof exports.main, 'function')
})

test('given a code cache V8 refuses, the bundle still runs a recording and its query', () => {
  built()
  // beside the real one: the addon and the externals are found relative to it
  const copy = join(root, 'dist', 'cli', `eyrie-test-${process.pid}.cjs`)
  const work = mkdtempSync(join(tmpdir(), 'eyrie-bundle-'))
  const journal = join(work, 'journal')
  try {
    copyFileSync(bundle, copy)
    writeFileSync(cacheOf(copy), Buffer.from('not a code cache'))
    const run = (...args: string[]) => {
      const script = `import { loadBundle } from ${JSON.stringify(join(root, 'bin', 'bundle.js'))}
const { exports, script } = loadBundle(${JSON.stringify(copy)})
if (!script.cachedDataRejected) throw new Error('the broken cache was taken')
process.exitCode = await exports.main(process.argv)`
      return spawnSync(process.execPath, ['--input-type=module', '-e', script, 'eyrie', '--journal', journal, ...args], { encoding: 'utf8', cwd: work })
    }
    const rec = run('record', '--', 'sh', '-c', 'echo bundled > out.txt')
    assert.equal(rec.status, 0, rec.stderr)
    assert.match(rec.stderr, /eyrie: guest sh-/)
    const cat = run('at', 'now', 'cat', join(work, 'out.txt'))
    assert.equal(cat.status, 0, cat.stderr)
    assert.equal(cat.stdout, 'bundled\n')
  } finally {
    rmSync(copy, { force: true })
    rmSync(cacheOf(copy), { force: true })
    rmSync(work, { recursive: true, force: true })
  }
})
