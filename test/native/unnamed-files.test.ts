// Files made with no name: O_TMPFILE (later given one with linkat) and memfd_create. The recorder
// journaled an O_TMPFILE file under the name /proc shows for it ("dir/#123 (deleted)"), so `ls`
// listed a file nobody made, a link of it by its fd bound nothing, and a memfd was not seen at all.
// The kernel is the oracle: the fd table as /proc lists it, the names in the directory, the bytes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { worldAt } from '../../src/engine/replay.js'
import { fds, ls } from '../../src/projections/index.js'
import { contentAt, RECORDERS, type Recorded } from '../support/e2e.js'

// after each step: the fd table as /proc lists it, then a marker (chdir)
const PRELUDE = `
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, AT_EMPTY_PATH = -100, 0x1000
said = []
def tell(*fds):
    said.append({str(fd): os.readlink('/proc/self/fd/%d' % fd) for fd in fds}); os.chdir('.')
os.mkdir('d')
t = os.open('d', os.O_TMPFILE | os.O_RDWR, 0o644)
os.write(t, b'first part\\n'); tell(t)
if libc.linkat(t, b'', AT_FDCWD, b'd/named', AT_EMPTY_PATH) != 0: raise OSError(ctypes.get_errno(), 'linkat')
os.write(t, b'second part\\n'); tell(t)
`
const MEMFD = `
m = os.memfd_create('scratch', 0)
os.write(m, b'in memory only\\n'); os.ftruncate(m, 32); tell(t, m)
again = os.open('/proc/self/fd/%d' % m, os.O_RDWR | os.O_APPEND)
os.write(again, b'appended\\n'); tell(t, m, again)
`
const END = `json.dump(said, open('said.json', 'w'))\n`

/** At each marker: the fds /proc listed, no name in d before the link and d/named after it, and
 *  d/named's bytes as written. */
const check = async (r: Recorded): Promise<void> => {
  const said = JSON.parse(await readFile(join(r.dir, 'said.json'), 'utf8')) as Array<Record<string, string>>
  const pid = r.events.filter((e) => e.kind === 'proc.chdir').at(-1)?.pid // python's (pyenv's shims chdir too)
  const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === pid).map((e) => e.seq)
  assert.equal(markers.length, said.length)
  for (const [i, seq] of markers.entries()) {
    const w = await worldAt(r.journal, r.guest, seq)
    const rows = fds(w, pid ?? -1)
    const shown = Object.fromEntries(Object.keys(said[i]).map((fd) => {
      const f = rows.find((x) => String(x.fd) === fd)
      return [fd, f === undefined ? 'missing' : f.deleted ? `${f.path} (deleted)` : f.path]
    }))
    assert.deepEqual(shown, said[i], `fds at step ${i}`)
    const names = ls(w, join(r.dir, 'd')).map((e) => e.path).filter((p) => p !== join(r.dir, 'd'))
    assert.deepEqual(names, i === 0 ? [] : [join(r.dir, 'd', 'named')], `names at step ${i}`)
  }
  assert.equal((await contentAt(r, markers[1], join(r.dir, 'd', 'named'))).toString(), 'first part\nsecond part\n')
  assert.deepEqual(await contentAt(r, r.events.length, join(r.dir, 'd', 'named')), await readFile(join(r.dir, 'd', 'named')))
}

for (const [recorder, record] of RECORDERS) {
  test(`${recorder}: given a file made with O_TMPFILE, then linked by its fd, fds, names and bytes follow the kernel`, async () => {
    const r = await record(['python3', '-c', PRELUDE + END])
    try {
      await check(r)
    } finally {
      await r.cleanup()
    }
  })
}

for (const [recorder, record] of RECORDERS) {
  test(`${recorder}: given a memfd, written and reopened through /proc/self/fd, fds and bytes follow the kernel`, async () => {
    const r = await record(['python3', '-c', PRELUDE + MEMFD + END])
    try {
      await check(r)
    } finally {
      await r.cleanup()
    }
  })
}
