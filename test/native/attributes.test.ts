// Permissions and owners: chmod and chown by name (through a symlink too; chown -h of the symlink
// itself), fchmod and fchown through a descriptor (seen when it closes, when an exec closes it, or
// when its process ends without closing it), mkdir under a umask, a file created under one. The
// kernel is the oracle: what lstat says of each name at the end. `diff` reports a mode change.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { worldAt } from '../../src/engine/replay.js'
import { diff } from '../../src/forensic/diff.js'
import { timeline } from '../../src/forensic/timeline.js'
import { ls } from '../../src/projections/index.js'
import { attachNatively, recordNatively, recordWithStrace, type Recorded } from '../support/e2e.js'

const PY = [
  'import os',
  'fd = os.open("pre", os.O_RDONLY); os.fchmod(fd, 0o640); os.fchown(fd, 12, 13); os.close(fd)',
  // inherited by the program exec'd, closed by its exit
  'fd = os.open("kept", os.O_WRONLY | os.O_CREAT, 0o666); os.set_inheritable(fd, True); os.fchmod(fd, 0o700)',
  'fd = os.open("execd", os.O_WRONLY | os.O_CREAT, 0o666); os.fchmod(fd, 0o751)', // close-on-exec
  'os.execv("/bin/true", ["true"])',
].join('\n')
const SCRIPT = [
  'mkdir d && cd d && touch pre && echo hi > a',
  'chmod 4755 a && mkdir -m 1777 t && umask 027 && mkdir e && : > e/f',
  `/usr/bin/python3 -c '${PY}'`,
  'ln -s a s && chmod 711 s && chmod g+s e && chown 1000:5 a && chown -h 7 s && chgrp 9 e',
].join(' && ')

type Seen = [path: string, mode: number | null, uid: number | null, gid: number | null]

/** Every name below dir with its permission bits (a symlink's are always 0777) and owner. */
const attributesOf = async (dir: string): Promise<Seen[]> => {
  const out: Seen[] = []
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name)
    const st = await lstat(p)
    out.push([p, st.mode & 0o7777, st.uid, st.gid])
    if (st.isDirectory()) out.push(...(await attributesOf(p)))
  }
  return out.sort((x, y) => (x[0] < y[0] ? -1 : 1))
}

const known = async (r: Recorded, seq: number, dir: string): Promise<Seen[]> => {
  const w = await worldAt(r.journal, r.guest, seq)
  return ls(w, dir).filter((e) => e.path !== dir).map((e): Seen => [e.path, e.mode, e.uid, e.gid])
}

const rel = (d: string, [p, ...rest]: Seen): unknown[] => [p.slice(d.length + 1), ...rest.map((v) => (v === null ? null : v.toString(8)))]

test('native: given chmod and chown by name and through a symlink, fchmod and fchown closed, left to an exec and to the exit, and mkdir and creat under a umask, ls at the end holds the modes and owners the kernel shows, and diff follows them', async () => {
  const r = await recordNatively(['sh', '-c', SCRIPT])
  try {
    const d = join(r.dir, 'd')
    const truth = await attributesOf(d)
    // (ids in octal too: rel's)
    assert.deepEqual(truth.map((s) => rel(d, s)), [
      ['a', '711', '1750', '5'], ['e', '2750', '0', '11'], ['e/f', '640', '0', '0'], ['execd', '751', '0', '0'],
      ['kept', '700', '0', '0'], ['pre', '640', '14', '15'], ['s', '777', '7', '0'], ['t', '1777', '0', '0'],
    ], 'the script made what this test expects')
    const last = r.events.at(-1)?.seq ?? 0
    assert.deepEqual(await known(r, last, d), truth)
    const under = (p: string): boolean => p.startsWith(`${d}/`) // (an inherited /dev/null is seen at its first close too)
    const chowns = r.events.flatMap((e) => (e.kind === 'file.chown' && under(e.path) ? [[e.path.slice(d.length + 1), e.uid, e.gid, e.nofollow === true]] : []))
    // (and what `ln -s` made: a symlink's owner, seen at its making)
    assert.deepEqual(chowns, [['pre', 12, 13, false], ['s', 0, 0, true], ['a', 1000, 5, false], ['s', 7, 0, true], ['e', 0, 9, false]])
    // each chmod names the file it changed (through the symlink: a), the fchmods are seen at the close, the exec and the exit
    const chmods = r.events.flatMap((e) => (e.kind === 'file.chmod' && under(e.path) ? [[e.path.slice(d.length + 1), e.mode.toString(8)]] : []))
    assert.deepEqual(chmods, [['a', '4755'], ['t', '1777'], ['pre', '640'], ['execd', '751'], ['kept', '700'], ['a', '711'], ['e', '2750']])
    // `chmod 711 s` took the set-user-ID bit away: diff from before it shows the change
    const before = r.events.find((e) => e.kind === 'file.chmod' && e.mode === 0o711)?.seq ?? 0
    const change = (await diff(r.journal, r.guest, before - 1, last)).files.find((f) => f.path === join(d, 'a'))
    assert.ok(change !== undefined && change.change === 'changed', 'a mode change is a change')
    assert.deepEqual([change.before.mode, change.after.mode], [0o4755, 0o711])
    // timeline: when it became set-user-ID, when it stopped, when it changed hands
    const versions = await timeline(r.journal, r.guest, join(d, 'a'))
    const changes = versions.filter((v) => v.kind === 'file.chmod' || v.kind === 'file.chown').map((v) => [v.kind, v.mode?.toString(8), v.uid, v.gid])
    assert.deepEqual(changes, [['file.chmod', '4755', 0, 0], ['file.chmod', '711', 0, 0], ['file.chown', '711', 1000, 5]])
  } finally {
    await r.cleanup()
  }
})

test('strace import: given the same script, every mode and owner eyrie knows is the kernel\'s, and what chmod, chown, fchmod and fchown set is known', async () => {
  const r = await recordWithStrace(['sh', '-c', SCRIPT])
  try {
    const d = join(r.dir, 'd')
    const truth = new Map((await attributesOf(d)).map((s) => [s[0], s]))
    const seen = await known(r, r.events.at(-1)?.seq ?? 0, d)
    for (const s of seen) for (const i of [1, 2, 3] as const) if (s[i] !== null) assert.equal(s[i], truth.get(s[0])?.[i], `${s[0]} [${i}]`)
    // strace shows a call's mode but not the umask, and no owner of what mkdir and creat made
    assert.deepEqual(seen.filter(([, m]) => m !== null).map(([p]) => p.slice(d.length + 1)), ['a', 'e', 'execd', 'kept', 'pre', 's', 't'])
    assert.deepEqual(seen.filter(([, , u]) => u !== null).map(([p]) => p.slice(d.length + 1)), ['a', 'pre', 's'])
    assert.deepEqual(seen.filter(([, , , g]) => g !== null).map(([p]) => p.slice(d.length + 1)), ['a', 'e', 'pre']) // chgrp and chown -h 7: -1 for the other
  } finally {
    await r.cleanup()
  }
})

// before the attach: a file held open, its mode and owner set; after it (`go`), `change` through
// that very descriptor (no call by name), then `after`
const heldScript = (change: string, after: string): string => `
import os, time
fd = os.open('held', os.O_WRONLY | os.O_CREAT, 0o640); os.fchown(fd, 5, 6)
start = os.environ['START']
open(os.path.join(start, 'ready'), 'w').close()
while not os.path.exists(os.path.join(start, 'go')): time.sleep(0.005)
${change}
${after}
`

/** The held file's [mode, uid, gid] in R(0) and at the end of the journal of an attach to `script`. */
const heldAttributes = async (script: string, opts: { detachOnce?: string } = {}): Promise<[unknown, unknown]> => {
  const r = await attachNatively(['python3', '-c', script], opts)
  try {
    const held = join(r.dir, 'held')
    const at = async (seq: number): Promise<unknown> => (await known(r, seq, r.dir)).find(([p]) => p === held)?.slice(1)
    return [await at(r.events.find((e) => e.kind === 'snapshot')?.seq ?? 0), await at(r.events.at(-1)?.seq ?? 0)]
  } finally {
    await r.cleanup()
  }
}

test('attach: given a mode and owner changed through a descriptor still open when eyrie detaches, the journal ends with them', async () => {
  // the process runs on after the detach, the descriptor open, until told to end
  const after = ["open(os.path.join(start, 'changed'), 'w').close()", "while not os.path.exists(os.path.join(start, 'end')): time.sleep(0.005)", 'os.close(fd)'].join('\n')
  const script = heldScript('os.fchmod(fd, 0o604); os.fchown(fd, 7, -1)', after)
  assert.deepEqual(await heldAttributes(script, { detachOnce: 'changed' }), [[0o640, 5, 6], [0o604, 7, 6]])
})

test('attach: given a file held open before the attach, R(0) has its mode and owner, and a change through the held descriptor shows at its close', async () => {
  assert.deepEqual(await heldAttributes(heldScript('os.fchmod(fd, 0o600)', 'os.close(fd)')), [[0o640, 5, 6], [0o600, 5, 6]])
})

test('native: given files renamed while open, one with a new file made at its old name, then changed by fchmod and closed, each chmod names where its file is now', async () => {
  const py = [
    'import os',
    'fd = os.open("moved", os.O_WRONLY | os.O_CREAT, 0o600); os.rename("moved", "there"); os.fchmod(fd, 0o604); os.close(fd)',
    'fd = os.open("swap", os.O_WRONLY | os.O_CREAT, 0o600); os.rename("swap", "swapped")',
    'os.close(os.open("swap", os.O_WRONLY | os.O_CREAT, 0o600)); os.fchmod(fd, 0o606); os.close(fd)',
  ].join('\n')
  const r = await recordNatively(['/usr/bin/python3', '-c', py])
  try {
    const under = (p: string): boolean => p.startsWith(`${r.dir}/`)
    const chmods = r.events.flatMap((e) => (e.kind === 'file.chmod' && under(e.path) ? [[e.path.slice(r.dir.length + 1), e.mode.toString(8)]] : []))
    assert.deepEqual(chmods, [['there', '604'], ['swapped', '606']])
    const truth = (await attributesOf(r.dir)).map(([p, mode]) => [p.slice(r.dir.length + 1), mode?.toString(8)])
    assert.deepEqual(truth, [['swap', '600'], ['swapped', '606'], ['there', '604']], 'the kernel')
    const w = await worldAt(r.journal, r.guest, r.events.at(-1)?.seq ?? 0)
    assert.deepEqual(ls(w, r.dir).filter((e) => e.path !== r.dir).map((e) => [e.path.slice(r.dir.length + 1), e.mode?.toString(8)]), truth, 'the replay')
  } finally {
    await r.cleanup()
  }
})
