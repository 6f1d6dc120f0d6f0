// Nodes made with no open: mknod(2) (fifos, device nodes, an empty regular file) and bind(2) of a
// Unix socket to a name. Neither was journaled, so `ls` of a directory made during the recording,
// which claims every name in it, left them out, and a rename of one moved a name eyrie did not know.
// The kernel is the oracle: what lstat says of each name at the end.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { lstat, readdir } from 'node:fs/promises'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { worldAt } from '../../src/engine/replay.js'
import { diff } from '../../src/forensic/diff.js'
import { contentPlan, ls } from '../../src/projections/index.js'
import { recordNatively, recordWithStrace, type Recorded } from '../support/e2e.js'

const run = promisify(execFile)

const PY = [
  'import os, socket',
  'os.mknod("plain", 0o600)',
  'os.mknod("dev", 0o60640, os.makedev(259, 1048575))',
  'named = socket.socket(socket.AF_UNIX); named.bind("s1")',
  'abstract = socket.socket(socket.AF_UNIX); abstract.bind("\\0eyrie-abstract")',
  'unnamed = socket.socket(socket.AF_UNIX); unnamed.bind("")',
  'inet = socket.socket(); inet.bind(("127.0.0.1", 0))',
  'os.chdir("/"); gone = socket.socket(socket.AF_UNIX); gone.bind(os.environ["D"] + "/s2")',
].join('\n')
const SCRIPT = `mkdir d && cd d && mkfifo p && mknod c c 1 3 && D=$PWD /usr/bin/python3 -c '${PY}' && mv p p2 && ln c c2 && rm s2`

const typeOf = async (path: string): Promise<string> => {
  const st = await lstat(path)
  return st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFile() ? 'file' : 'other'
}

const check = async (r: Recorded): Promise<void> => {
  const d = join(r.dir, 'd')
  const truth = await Promise.all((await readdir(d)).sort().map(async (n) => [join(d, n), await typeOf(join(d, n))]))
  assert.deepEqual(truth.map(([, t]) => t), ['char', 'char', 'block', 'fifo', 'file', 'socket'], 'the script made what this test expects')
  const w = await worldAt(r.journal, r.guest, r.events.at(-1)?.seq ?? 0)
  // d was made during the recording: every name in it is one eyrie saw bound, so ls lists all
  assert.deepEqual(ls(w, d).filter((e) => e.path !== d).map((e) => [e.path, e.type]), truth)
  const made = r.events.flatMap((e) => (e.kind === 'file.mknod' ? [[e.path, e.mode & 0o170000, e.rdev]] : []))
  assert.deepEqual(made, [
    [join(d, 'p'), 0o010000, 0],
    [join(d, 'c'), 0o020000, 0x103],
    [join(d, 'plain'), 0, 0],
    [join(d, 'dev'), 0o060000, 0xfff103ff],
    [join(d, 's1'), 0o140000, 0],
    [join(d, 's2'), 0o140000, 0],
  ])
  const fifo = contentPlan(w, join(d, 'p2'))
  assert.ok(!fifo.ok && /is a fifo/.test(fifo.reason), 'a fifo holds no content to cat')
  const plain = contentPlan(w, join(d, 'plain'))
  assert.ok(plain.ok && plain.size === 0, 'mknod of a regular file makes it empty')
}

for (const [label, record] of [['native', recordNatively], ['strace import', recordWithStrace]] as const) {
  test(`${label}: given fifos, device nodes, an empty file and Unix sockets made by mknod and bind, then moved, linked and removed, ls at the end lists what the kernel's directory holds`, async () => {
    const r = await record(['sh', '-c', SCRIPT])
    try {
      await check(r)
    } finally {
      await r.cleanup()
    }
  })
}

test('native: given a shell that truncates /dev/null and writes through a fifo that existed before, the fold knows them for a device and a fifo: diff says nothing changed, cat refuses both', async () => {
  const r = await recordNatively(['sh', '-c', ': > /dev/null; cat old > /dev/null & echo hi > old; wait'], { setup: async (dir) => { await run('mkfifo', [join(dir, 'old')]) } })
  try {
    const last = r.events.at(-1)?.seq ?? 0
    const w = await worldAt(r.journal, r.guest, last)
    const old = join(r.dir, 'old')
    assert.deepEqual(ls(w, '/dev/null').map((e) => e.type), ['char'])
    assert.deepEqual(ls(w, old).map((e) => e.type), ['fifo'])
    for (const path of ['/dev/null', old]) assert.ok(!contentPlan(w, path).ok, `cat ${path}`)
    // nothing was made or written: the fifo and the directories met on the way (the locale
    // directories glibc opens without O_DIRECTORY, where it opens them: a file until the open showed
    // otherwise) existed before, and were listed as changed or created
    const d = await diff(r.journal, r.guest, 1, last)
    assert.deepEqual(d.files.map((f) => `${f.change} ${f.path}`), [])
    assert.ok(d.firstSeen.includes(old), 'the fifo: first seen, unchanged')
  } finally {
    await r.cleanup()
  }
})

test('native: given a directory, a fifo and a symlink that existed before, renamed, ls names each by its type (a source eyrie never saw was a file of unknown content)', async () => {
  const r = await recordNatively(['sh', '-c', 'mv d1 d2 && mv p1 p2 && mv l1 l2'], {
    setup: async (dir) => {
      await run('mkdir', [join(dir, 'd1')])
      await run('mkfifo', [join(dir, 'p1')])
      await run('ln', ['-s', 'd2', join(dir, 'l1')])
    },
  })
  try {
    const w = await worldAt(r.journal, r.guest, r.events.at(-1)?.seq ?? 0)
    const types = Object.fromEntries(['d2', 'p2', 'l2'].map((n) => [n, ls(w, join(r.dir, n)).find((e) => e.path === join(r.dir, n))?.type]))
    assert.deepEqual(types, { d2: 'dir', p2: 'fifo', l2: 'symlink' })
  } finally {
    await r.cleanup()
  }
})
