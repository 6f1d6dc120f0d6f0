// diff, timeline, export and tree against a real program under real strace: a "build" that edits,
// replaces, renames and deletes files and saves side copies with dd at chosen moments. The copies and
// the disk at the end are the oracle.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { diskFiles, recordWithStrace, seqOfOpen, tempDir, type Recorded } from '../support/e2e.js'
import { diff } from '../../src/forensic/diff.js'
import { timeline, type Version } from '../../src/forensic/timeline.js'
import { exportAt } from '../../src/forensic/export.js'
import { openDirTarget, openTarTarget } from '../../src/forensic/exportTargets.js'
import { processTree } from '../../src/forensic/tree.js'
import { worldAt } from '../../src/engine/replay.js'

const BUILD = `set -e
snap() { mkdir -p .snaps; dd if="$1" of=".snaps/$2" status=none; }
mkdir -p src build
printf 'int add(int a, int b) { return a + b; }\\n' > src/add.c
printf 'int main(void) { return 0; }\\n' > src/main.c
echo 'CFLAGS=-O0' > build/config.mk
{ while IFS= read -r l; do printf '%s\\n' "$l"; done < src/add.c; echo '// generated'; } > build/all.c
snap build/all.c m1-all; snap build/config.mk m1-config; snap src/add.c m1-add; snap src/main.c m1-main
echo 'CFLAGS=-O2' > build/config.mk.tmp && mv build/config.mk.tmp build/config.mk
printf 'int sub(int a, int b) { return a - b; }\\n' >> src/add.c
mv src/main.c src/app.c
rm build/all.c
printf 'linked\\n' > build/app.bin
snap build/config.mk m2-config
printf 'patch' | dd of=build/app.bin bs=1 seek=2 conv=notrunc status=none
snap build/app.bin m3-app
`

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

let r: Recorded
let snaps: Map<string, Buffer>
const p = (rel: string): string => join(r.dir, rel)
const snap = (name: string): Buffer => {
  const b = snaps.get(p(`.snaps/${name}`))
  assert.ok(b !== undefined, `side copy ${name}`)
  return b
}
/** The version in effect at seq: the last one made at or before it. */
const versionAt = (vs: readonly Version[], seq: number): Version | undefined => vs.filter((v) => v.seq <= seq).at(-1)

before(async () => {
  r = await recordWithStrace(['sh', '-c', BUILD], { every: 200 })
  snaps = await diskFiles(join(r.dir, '.snaps'))
})
after(async () => r?.cleanup())

test('given the build, when diffing the moment of the first side copies against the end, then each edit, replacement, rename, delete and create is named with sizes and sha256 equal to the copies and the disk', async () => {
  const t1 = seqOfOpen(r, p('.snaps/m1-main'))
  const end = r.events.at(-1)?.seq ?? 0
  const d = await diff(r.journal, r.guest, t1, end)
  const mine = d.files.filter((f) => f.path.startsWith(`${r.dir}/`) && !f.path.includes('/.snaps/'))
  const disk = await diskFiles(r.dir)
  const shaDisk = (rel: string) => sha(disk.get(p(rel)) ?? Buffer.alloc(0))
  assert.deepEqual(mine.map((f) => [f.change, f.path]), [
    ['deleted', p('build/all.c')],
    ['created', p('build/app.bin')],
    ['changed', p('build/config.mk')],
    ['changed', p('src/add.c')],
    ['renamed', p('src/app.c')],
  ])
  const byPath = new Map(mine.map((f) => [f.path, f]))
  const created = byPath.get(p('build/app.bin'))
  assert.ok(created?.change === 'created' && created.after.sha256 === shaDisk('build/app.bin') && created.after.size === disk.get(p('build/app.bin'))?.length)
  const deleted = byPath.get(p('build/all.c'))
  assert.ok(deleted?.change === 'deleted' && deleted.before.sha256 === sha(snap('m1-all')) && !deleted.stillOpen)
  const replaced = byPath.get(p('build/config.mk'))
  assert.ok(replaced?.change === 'changed' && replaced.replaced, 'mv of a new file over config.mk is a replacement')
  assert.equal(replaced.before.sha256, sha(snap('m1-config')))
  assert.equal(replaced.after.sha256, shaDisk('build/config.mk'))
  const edited = byPath.get(p('src/add.c'))
  assert.ok(edited?.change === 'changed' && !edited.replaced && edited.before.sha256 === sha(snap('m1-add')) && edited.after.sha256 === shaDisk('src/add.c'))
  const renamed = byPath.get(p('src/app.c'))
  assert.ok(renamed?.change === 'renamed' && renamed.from === p('src/main.c') && !renamed.contentChanged)
  assert.equal(renamed.after.sha256, sha(snap('m1-main')))
  const programs = d.procs.filter((x) => x.started && x.exited).map((x) => x.exe?.split('/').at(-1))
  for (const prog of ['mv', 'rm', 'dd']) assert.ok(programs.includes(prog), `${prog} started and exited in between`)
  assert.ok(d.activity.events === end - t1 && (d.activity.byKind['file.rename'] ?? 0) >= 2 && (d.activity.byKind['file.unlink'] ?? 0) >= 1)
})

test('given the build, the timeline of each file has, at every side copy, a version whose sha256 is the copy\'s, and ends with the disk', async () => {
  const config = await timeline(r.journal, r.guest, p('build/config.mk'))
  for (const [name, copy] of [['m1-config', 'm1-config'], ['m2-config', 'm2-config']] as const) {
    assert.equal(versionAt(config, seqOfOpen(r, p(`.snaps/${name}`)))?.sha256, sha(snap(copy)), `config.mk at ${name}`)
  }
  const renamedOver = config.find((v) => v.kind === 'file.rename')
  assert.ok(renamedOver !== undefined && renamedOver.exe?.endsWith('/mv') && renamedOver.sha256 === sha(snap('m2-config')))
  assert.equal(config.at(-1)?.sha256, sha(await readFile(p('build/config.mk'))))

  const app = await timeline(r.journal, r.guest, p('build/app.bin'))
  assert.ok(app.some((v) => v.exe?.endsWith('/dd') && v.kind === 'file.write'), 'dd patched app.bin')
  assert.equal(app.at(-1)?.sha256, sha(snap('m3-app')))
  assert.equal(app.at(-1)?.sha256, sha(await readFile(p('build/app.bin'))))

  const all = await timeline(r.journal, r.guest, p('build/all.c'))
  assert.equal(versionAt(all, seqOfOpen(r, p('.snaps/m1-all')))?.sha256, sha(snap('m1-all')))
  const gone = all.at(-1)
  assert.ok(gone?.type === 'absent' && gone.kind === 'file.unlink' && gone.exe?.endsWith('/rm'))
  // the appends of the read loop extend the previous hash; every digest must still be the file's
  assert.ok(all.filter((v) => v.kind === 'file.write').length >= 2)
})

test('given the build, exporting at the first side copies into a directory gives exactly the copied bytes, and the tree at that moment shows the shell with dd writing the copy', async () => {
  const t1 = seqOfOpen(r, p('.snaps/m1-main'))
  const out = join(await tempDir('export'), 'out')
  try {
    const m = await exportAt(r.journal, r.guest, t1, () => openDirTarget(out), { under: r.dir })
    const root = (rel: string) => join(out, 'root', r.dir, rel)
    assert.deepEqual(await readFile(root('build/all.c')), snap('m1-all'))
    assert.deepEqual(await readFile(root('build/config.mk')), snap('m1-config'))
    assert.deepEqual(await readFile(root('src/add.c')), snap('m1-add'))
    assert.deepEqual(await readFile(root('src/main.c')), snap('m1-main'))
    assert.ok(!existsSync(root('build/app.bin')) && !existsSync(root('src/app.c')), 'nothing from after T')
    assert.equal(m.totals.unknownBytes, 0)
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'))
    assert.equal(manifest.files.find((f: { path: string }) => f.path === p('build/all.c')).sha256, sha(snap('m1-all')))
  } finally {
    await rm(join(out, '..'), { recursive: true, force: true })
  }
  const tree = processTree(await worldAt(r.journal, r.guest, t1))
  assert.equal(tree.length, 1)
  assert.match(tree[0].exe ?? '', /\/(ba|da)?sh$/)
  const dd = tree[0].children.find((c) => c.exe?.endsWith('/dd'))
  assert.ok(dd?.files.some((f) => f.path === p('.snaps/m1-main') && f.mode === 'w'), 'dd holds the copy open for writing')
})

test('given the build, exporting the end as a tar and extracting it with tar(1) gives every file of the work dir as on disk', async () => {
  const end = r.events.at(-1)?.seq ?? 0
  const dir = await tempDir('export')
  try {
    const file = join(dir, 'end.tar')
    await exportAt(r.journal, r.guest, end, (ts) => openTarTarget(file, new Date(Number((ts ?? 0n) / 1_000_000n))), { under: r.dir })
    execFileSync('tar', ['-xf', file, '-C', dir])
    const disk = await diskFiles(r.dir)
    const exported = await diskFiles(join(dir, 'root', r.dir))
    assert.deepEqual([...exported.keys()].map((k) => k.slice(join(dir, 'root').length)).sort(), [...disk.keys()].sort())
    for (const [path, bytes] of disk) assert.deepEqual(exported.get(join(dir, 'root', path)), bytes, path)
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))
    assert.equal(manifest.seq, end)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
