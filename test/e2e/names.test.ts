// Names that are not UTF-8, recorded for real (strace + import, and the native interceptor): files
// whose names differ only in such bytes stay distinct files in the journal, each with its own bytes,
// and an export (a directory, or a tar that GNU tar unpacks) writes every name back as the bytes the
// program used. The kernel (the work directory) is the oracle.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, readdir, readFile, readlink, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { nameFromBytes } from '../../src/events/index.js'
import { worldAt } from '../../src/engine/replay.js'
import { exportAt } from '../../src/forensic/export.js'
import { openDirTarget, openTarTarget } from '../../src/forensic/exportTargets.js'
import { contentAt, RECORDERS, tempDir } from '../support/e2e.js'

/** The names, as bytes: two that are not UTF-8 and differ in one byte, U+FFFD (what both used to
 *  become), the UTF-8 of U+EFFF (the escape of 0xff, were the rule careless), Latin-1 and UTF-8 é. */
const NAMES: readonly Buffer[] = [
  Buffer.from('n\xff', 'latin1'),
  Buffer.from('n\xfe', 'latin1'),
  Buffer.from('n\ufffd', 'utf8'),
  Buffer.from('n\uefff', 'utf8'),
  Buffer.from('caf\xe9', 'latin1'),
  Buffer.from('café', 'utf8'),
]
const DIR = Buffer.from('d\xff', 'latin1')
const LINK = Buffer.from('l\xfe', 'latin1')

/** printf's octal spelling of bytes, for a shell script that makes the names itself. */
const octal = (b: Buffer): string => [...b].map((x) => `\\${x.toString(8).padStart(3, '0')}`).join('')

const SCRIPT = [
  ...NAMES.map((n, i) => `printf 'file ${i}\\n' > "$(printf '${octal(n)}')"`),
  `mkdir "$(printf '${octal(DIR)}')"`,
  `printf inside > "$(printf '${octal(DIR)}')/$(printf '${octal(NAMES[0])}')"`,
  `ln -s "$(printf '${octal(NAMES[1])}')" "$(printf '${octal(LINK)}')"`,
].join('; ')

/** The entries of a directory, as bytes, sorted. */
const entries = async (dir: string | Buffer): Promise<Buffer[]> => (await readdir(dir, { encoding: 'buffer' })).sort(Buffer.compare)
const under = (dir: string, ...names: Buffer[]): Buffer => Buffer.concat([Buffer.from(dir), ...names.flatMap((n) => [Buffer.from('/'), n])])

/** An unpacked export holds exactly the work directory's names, as bytes, with the same content. */
const assertSameTree = async (exported: string, work: string): Promise<void> => {
  assert.deepEqual(await entries(exported), await entries(work))
  for (const n of NAMES) assert.deepEqual(await readFile(under(exported, n)), await readFile(under(work, n)), `${n.toString('hex')}`)
  assert.deepEqual(await entries(under(exported, DIR)), [NAMES[0]])
  assert.equal((await readFile(under(exported, DIR, NAMES[0]))).toString(), 'inside')
  assert.deepEqual(await readlink(under(exported, LINK), { encoding: 'buffer' }), NAMES[1])
}

for (const [how, record] of RECORDERS) {
  test(`${how}: given files whose names differ only in bytes that are not UTF-8, then each is its own file in the journal and the exports write the original bytes`, async () => {
    const r = await record(['sh', '-c', SCRIPT])
    const out = await tempDir('names-out')
    try {
      const last = r.events[r.events.length - 1].seq
      const w = await worldAt(r.journal, r.guest, last)
      const inWork = [...w.names.keys()].filter((p) => p.startsWith(`${r.dir}/`)).map((p) => p.slice(r.dir.length + 1)).sort()
      const expected = [...NAMES, DIR, LINK].map(nameFromBytes)
      expected.push(`${nameFromBytes(DIR)}/${nameFromBytes(NAMES[0])}`)
      assert.deepEqual(inWork, expected.sort())
      assert.equal(new Set(inWork).size, NAMES.length + 3, 'no two names collide')
      for (const [i, n] of NAMES.entries()) assert.equal((await contentAt(r, last, `${r.dir}/${nameFromBytes(n)}`)).toString(), `file ${i}\n`)

      const rel = r.dir.slice(1)
      await exportAt(r.journal, r.guest, last, () => openDirTarget(join(out, 'dir')), { under: r.dir })
      await assertSameTree(join(out, 'dir', 'root', rel), r.dir)

      await exportAt(r.journal, r.guest, last, () => openTarTarget(join(out, 'x.tar'), new Date(0)), { under: r.dir })
      await mkdir(join(out, 'untar'))
      execFileSync('tar', ['-xf', join(out, 'x.tar'), '-C', join(out, 'untar')])
      await assertSameTree(join(out, 'untar', 'root', rel), r.dir)
    } finally {
      await rm(out, { recursive: true, force: true })
      await r.cleanup()
    }
  })
}
