// Where writes land when O_APPEND changes after the open (fcntl F_SETFL, through a dup that shares
// the description) and with pwritev2's RWF_APPEND: eyrie recorded neither, so it put such writes at
// the position or the offset the call gave. Run for real on a file made in the recording and on a
// large one that existed before (the interceptor follows that one write by write); content at each
// step's marker must hash as the file did, for both recorders (the large file: the interceptor).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { materialize } from '../../src/engine/content.js'
import { worldAt } from '../../src/engine/replay.js'
import { contentPlan } from '../../src/projections/index.js'
import { RECORDERS, type Recorded } from '../support/e2e.js'

// argv[1]: the file; each step, then its sha256 and a marker (chdir)
const SCRIPT = `
import fcntl, hashlib, os, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
def step():
    print(hashlib.sha256(open(path, 'rb').read()).hexdigest(), flush=True); os.chdir('.')
os.write(fd, b'start of the file\\n'); step()
dup = os.dup(fd)
fcntl.fcntl(dup, fcntl.F_SETFL, os.O_APPEND)  # the description's: fd appends too
os.pwrite(fd, b'pwrite at 0 appends\\n', 0); step()
os.write(fd, b'write appends\\n'); step()
fcntl.fcntl(fd, fcntl.F_SETFL, 0)
os.lseek(fd, 6, os.SEEK_SET)
os.write(fd, b'XX'); step()
os.pwritev(fd, [b'rwf-append\\n'], 3, os.RWF_APPEND); step()
os.pwritev(fd, [b'and at the position\\n'], -1, os.RWF_APPEND); step()
os.write(fd, b'YY'); step()
`

/** The bytes eyrie knows at seq match the file's hash there; bytes it never saw (a file that existed
 *  before) are taken from `before`, which the steps only append to or change in their first bytes. */
const check = async (r: Recorded, path: string, before: Buffer | null): Promise<void> => {
  const hashes = (await readFile(join(r.dir, 'hashes'), 'utf8')).trim().split('\n')
  const python = r.events.filter((e) => e.kind === 'proc.chdir').at(-1)?.pid
  const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === python).map((e) => e.seq)
  assert.equal(markers.length, hashes.length, 'one marker per step')
  for (const [k, seq] of markers.entries()) {
    const plan = contentPlan(await worldAt(r.journal, r.guest, seq), path)
    assert.ok(plan.ok && plan.size !== null, `size known at step ${k}`)
    const { bytes, unknown } = await materialize(r.journal, r.guest, plan.pieces)
    if (before === null) assert.deepEqual(unknown, [], `all known at step ${k}`)
    for (const u of unknown) before?.copy(bytes, u.start, u.start, u.end)
    assert.equal(createHash('sha256').update(bytes).digest('hex'), hashes[k], `step ${k} at #${seq}`)
  }
}

for (const [recorder, record] of RECORDERS) {
  test(`${recorder}: given O_APPEND set through a dup and cleared with F_SETFL, and RWF_APPEND writes, content after each step hashes as the file did`, async () => {
    // the directory made inside the recording: eyrie knows f is new (strace's O_CREAT does not say)
    const r = await record(['sh', '-c', 'mkdir w && cd w && python3 -c "$0" "$PWD/f" > ../hashes', SCRIPT])
    try {
      await check(r, join(r.dir, 'w', 'f'), null)
    } finally {
      await r.cleanup()
    }
  })

  // strace cannot say the size of a file that existed before: the interceptor's case
  if (recorder !== 'native') continue
  test(`${recorder}: the same on a large file that existed before the recording`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eyrie-append-'))
    const path = join(dir, 'big')
    const before = Buffer.alloc(4 << 20, 'b')
    await writeFile(path, before)
    try {
      const r = await record(['sh', '-c', 'python3 -c "$0" "$1" > hashes', SCRIPT, path])
      try {
        await check(r, path, before)
      } finally {
        await r.cleanup()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
}
