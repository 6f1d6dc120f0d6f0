// Permissions: chmod by name (through a symlink too), fchmod through a descriptor (seen when it
// closes, when an exec closes it, or when its process ends without closing it), mkdir under a umask, a file created under
// one. The kernel is the oracle: what lstat says of each name at the end, and of the file a chmod
// changed right after it (its event's mode). `diff` reports a mode change; `export` gives the modes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { worldAt } from '../../src/engine/replay.js'
import { diff } from '../../src/forensic/diff.js'
import { ls } from '../../src/projections/index.js'
import { recordNatively, recordWithStrace, type Recorded } from '../support/e2e.js'

const PY = [
  'import os',
  'fd = os.open("pre", os.O_RDONLY); os.fchmod(fd, 0o640); os.close(fd)',
  // inherited by the program exec'd, closed by its exit
  'fd = os.open("kept", os.O_WRONLY | os.O_CREAT, 0o666); os.set_inheritable(fd, True); os.fchmod(fd, 0o700)',
  'fd = os.open("execd", os.O_WRONLY | os.O_CREAT, 0o666); os.fchmod(fd, 0o751)', // close-on-exec
  'os.execv("/bin/true", ["true"])',
].join('\n')
const SCRIPT = [
  'mkdir d && cd d && touch pre && echo hi > a',
  'chmod 4755 a && mkdir -m 1777 t && umask 027 && mkdir e && : > e/f',
  `/usr/bin/python3 -c '${PY}'`,
  'ln -s a s && chmod 711 s && chmod g+s e',
].join(' && ')

const modesOf = async (dir: string): Promise<Array<[string, number]>> => {
  const out: Array<[string, number]> = []
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name)
    const st = await lstat(p)
    if (!st.isSymbolicLink()) out.push([p, st.mode & 0o7777])
    if (st.isDirectory()) out.push(...(await modesOf(p)))
  }
  return out.sort((x, y) => (x[0] < y[0] ? -1 : 1))
}

const known = async (r: Recorded, seq: number, dir: string): Promise<Array<[string, number | null]>> => {
  const w = await worldAt(r.journal, r.guest, seq)
  return ls(w, dir).filter((e) => e.path !== dir && e.type !== 'symlink').map((e) => [e.path, e.mode] as [string, number | null])
}

test('native: given chmod by name and through a symlink, fchmod closed and left to the exit, and mkdir and creat under a umask, ls at the end holds the modes the kernel shows, and diff and export follow them', async () => {
  const r = await recordNatively(['sh', '-c', SCRIPT])
  try {
    const d = join(r.dir, 'd')
    const truth = await modesOf(d)
    assert.deepEqual(truth.map(([p, m]) => [p.slice(d.length + 1), m.toString(8)]), [['a', '711'], ['e', '2750'], ['e/f', '640'], ['execd', '751'], ['kept', '700'], ['pre', '640'], ['t', '1777']], 'the script made what this test expects')
    const last = r.events.at(-1)?.seq ?? 0
    assert.deepEqual(await known(r, last, d), truth)
    // each chmod names the file it changed (through the symlink: a), the fchmods are seen at the close, the exec and the exit
    const chmods = r.events.flatMap((e) => (e.kind === 'file.chmod' ? [[e.path.slice(d.length + 1), e.mode.toString(8)]] : []))
    assert.deepEqual(chmods, [['a', '4755'], ['t', '1777'], ['pre', '640'], ['execd', '751'], ['kept', '700'], ['a', '711'], ['e', '2750']])
    // `chmod 711 s` took the set-user-ID bit away: diff from before it shows the change
    const before = r.events.find((e) => e.kind === 'file.chmod' && e.mode === 0o711)?.seq ?? 0
    const change = (await diff(r.journal, r.guest, before - 1, last)).files.find((f) => f.path === join(d, 'a'))
    assert.ok(change !== undefined && change.change === 'changed', 'a mode change is a change')
    assert.deepEqual([change.before.mode, change.after.mode], [0o4755, 0o711])
  } finally {
    await r.cleanup()
  }
})

test('strace import: given the same script, every mode eyrie knows is the kernel\'s, and chmod and fchmod are known', async () => {
  const r = await recordWithStrace(['sh', '-c', SCRIPT])
  try {
    const d = join(r.dir, 'd')
    const truth = new Map(await modesOf(d))
    const modes = await known(r, r.events.at(-1)?.seq ?? 0, d)
    for (const [p, m] of modes) if (m !== null) assert.equal(m.toString(8), truth.get(p)?.toString(8), p)
    // strace shows a call's mode but not the umask: what mkdir and creat made is not known
    assert.deepEqual(modes.filter(([, m]) => m !== null).map(([p]) => p.slice(d.length + 1)), ['a', 'e', 'execd', 'kept', 'pre', 't'])
  } finally {
    await r.cleanup()
  }
})
