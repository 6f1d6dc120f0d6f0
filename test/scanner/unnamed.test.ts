// Files the host has no name for, under `record --scan`: a script in a memfd run by its fd or by
// /proc/self/fd/N, an unlinked file run by its fd, a memfd opened again through /dev/fd/N. The tracer
// resolved /proc/self and /dev/fd as its own process's and judged exec only by a name the host could
// stat: each of these ran or was read unjudged. Now each is judged on the bytes the kernel holds, and
// the same programs with clean content run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { realpathSync } from 'node:fs'
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nameForTask } from '../../src/native/index.js'
import { eyrie } from '../support/cli.js'
import { SIGNATURES, MARKER, tmp } from './support.js'

const DRIVER = fileURLToPath(new URL('../fixtures/unnamed-driver.py', import.meta.url))
const EACCES = 13

const logKinds = (journal: string, kind: string) =>
  eyrie(['log', '--kind', kind, '--json'], { journal }).stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))

const runDriver = async (how: string, body: string, prepare?: (dir: string) => Promise<void>) => {
  const dir = await tmp(`unnamed-${how}`)
  await prepare?.(dir)
  const journal = join(dir, 'journal')
  const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'python3', DRIVER, how, body], { journal, cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  return { out: r.stdout, journal }
}

for (const how of ['memfd-fexecve', 'memfd-proc', 'unlinked']) {
  test(`given a script with the marker in a file with no name (${how}), when the guest runs it, the kernel refuses (EACCES) and the infected verdict is journaled; a clean one runs`, async () => {
    const bad = await runDriver(how, `echo ${MARKER}`)
    assert.doesNotMatch(bad.out, new RegExp(MARKER))
    // the unlinked file is refused when it is opened again to be run, before it loses its name
    assert.match(bad.out, new RegExp(`(exec|open)-errno=${EACCES}`))
    const infected = logKinds(bad.journal, 'scan.verdict').filter((v) => v.verdict === 'infected')
    assert.ok(infected.length >= 1, 'an infected verdict')
    // a file with no name is copied into quarantine (the process holding it keeps it); restore needs --to
    const q = JSON.parse(eyrie(['quarantine', 'list', '--json'], { journal: bad.journal }).stdout) as { records: Array<{ id: string; path: string; to: string; copied?: boolean }> }
    assert.equal(q.records.length, 1)
    const [rec] = q.records
    if (how !== 'unlinked') {
      assert.match(rec.path, /^\/proc\/[0-9]+\/fd\/[0-9]+$/)
      assert.equal(rec.copied, true)
      assert.equal(await readFile(rec.to, 'utf8'), `#!/bin/sh\necho ${MARKER}\n`)
      assert.ok(logKinds(bad.journal, 'file.quarantine').some((e) => e.id === rec.id && e.copied === true))
      assert.match(eyrie(['quarantine', 'restore', rec.id], { journal: bad.journal }).stderr, /had no name.*--to/)
    }
    assert.ok(logKinds(bad.journal, 'access.denied').some((d) => d.errno === EACCES))
    const good = await runDriver(how, 'echo clean-ran')
    assert.match(good.out, /clean-ran/)
    assert.match(good.out, /status=0/)
  })
}

test('given a memfd with the marker, when the guest opens it again through /dev/fd/N, the open fails with EACCES; a clean one reads back', async () => {
  const bad = await runDriver('memfd-devfd', `echo ${MARKER}`)
  assert.match(bad.out, new RegExp(`open-errno=${EACCES}`))
  assert.doesNotMatch(bad.out, new RegExp(MARKER))
  const good = await runDriver('memfd-devfd', 'echo clean-ran')
  assert.match(good.out, /read=#!\/bin\/sh\|echo clean-ran\|/)
})

test('given a memfd with the marker reached through symlinks to /proc/self/fd/N and /dev/fd, the exec and the open fail with EACCES; clean ones run and read', async () => {
  const bad = await runDriver('memfd-symlink', `echo ${MARKER}`)
  assert.doesNotMatch(bad.out, new RegExp(MARKER))
  assert.match(bad.out, new RegExp(`exec-errno=${EACCES}`))
  assert.match(bad.out, new RegExp(`open-errno=${EACCES}`))
  const good = await runDriver('memfd-symlink', 'echo clean-ran')
  assert.match(good.out, /clean-ran/)
  assert.match(good.out, /read=#!\/bin\/sh\|echo clean-ran\|/)
})

test('given a program with the marker in a memfd, run as the #!/proc/self/fd/N interpreter of a clean script, the exec fails with EACCES; a clean one runs', async () => {
  const bad = await runDriver('memfd-interp', MARKER)
  assert.match(bad.out, new RegExp(`exec-errno=${EACCES}`))
  assert.ok(logKinds(bad.journal, 'scan.verdict').some((v) => v.verdict === 'infected' && /^\/proc\/[0-9]+\/fd\/[0-9]+$/.test(v.path)), 'the interpreter judged as the tracee\'s fd')
  const good = await runDriver('memfd-interp', 'clean')
  assert.match(good.out, /status=0/)
})

test('given a program with the marker in a memfd, run as the interpreter of a clean script through a symlink to /proc/self/fd/N, the exec fails with EACCES; a clean one runs', async () => {
  const bad = await runDriver('memfd-interp-link', MARKER)
  assert.match(bad.out, new RegExp(`exec-errno=${EACCES}`))
  assert.ok(logKinds(bad.journal, 'scan.verdict').some((v) => v.verdict === 'infected' && /^\/proc\/[0-9]+\/fd\/[0-9]+$/.test(v.path)), 'the interpreter judged as the tracee\'s fd')
  const good = await runDriver('memfd-interp-link', 'clean')
  assert.match(good.out, /status=0/)
})

test('given interpreter names as a script gives them, nameForTask names the file the task reaches: from its cwd, by its canonical name, its own fds through /proc/self, /dev/fd and symlinks to them', async () => {
  const dir = await tmp('name-for-task')
  const child = spawn('python3', ['-c', 'import os, sys\nfd = os.memfd_create("x", 0)\nprint(fd, flush=True)\nsys.stdin.read()'], { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] })
  try {
    const fd = Number((await once(child.stdout, 'data'))[0].toString().trim())
    await mkdir(join(dir, 'bin'))
    await writeFile(join(dir, 'bin', 'interp'), '')
    await symlink(`/proc/self/fd/${fd}`, join(dir, 'link'))
    const name = (n: string) => nameForTask(child.pid ?? 0, n)
    assert.equal(name('bin/interp'), join(dir, 'bin', 'interp'))
    assert.equal(name('/proc/self/cwd/bin/interp'), join(dir, 'bin', 'interp'))
    assert.equal(name('/proc/thread-self/cwd/bin/../bin/interp'), join(dir, 'bin', 'interp'))
    assert.equal(name(`/proc/self/fd/${fd}`), `/proc/${child.pid}/fd/${fd}`)
    assert.equal(name(`/dev/fd/${fd}`), `/proc/${child.pid}/fd/${fd}`) // Debian's /dev/fd -> /proc/self/fd
    assert.equal(name(join(dir, 'link')), `/proc/${child.pid}/fd/${fd}`)
    assert.equal(name('/usr/bin/python3'), realpathSync('/usr/bin/python3'))
    assert.equal(name('nope'), join(dir, 'nope'))
  } finally {
    child.stdin.end()
    await once(child, 'exit')
    await rm(dir, { recursive: true, force: true })
  }
})

test('given a file with the marker opened by its handle (open_by_handle_at, no name in the call), the open fails with EACCES; a clean one reads', async () => {
  const HANDLES = fileURLToPath(new URL('../fixtures/handle-driver.py', import.meta.url))
  for (const body of [MARKER, 'clean']) {
    const dir = await tmp('by-handle')
    try {
      await writeFile(join(dir, 'f.sh'), `#!/bin/sh\necho ${body}\n`)
      const journal = join(dir, 'journal')
      const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'python3', HANDLES, 'f.sh', 'r'], { journal, cwd: dir })
      assert.equal(r.status, 0, r.stderr)
      if (body === 'clean') {
        assert.match(r.stdout, /read=#!\/bin\/sh\|echo clean\|/)
        continue
      }
      assert.match(r.stdout, new RegExp(`open-errno=${EACCES}`))
      const denied = logKinds(journal, 'access.denied')
      assert.deepEqual(denied.map((d) => [d.path, d.call]), [[join(dir, 'f.sh'), 'open_by_handle_at']])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
})

test('given a script with the marker read by openat2 with RESOLVE_IN_ROOT (its name and its symlink taken below a directory), the open fails with EACCES; a clean one reads', async () => {
  // the host has no /payload.sh: judged by that name, nothing was asked and the file was read
  const jail = (body: string) => async (dir: string) => {
    await mkdir(join(dir, 'jail'))
    await writeFile(join(dir, 'jail', 'payload.sh'), `#!/bin/sh\n${body}\n`)
    await symlink('/payload.sh', join(dir, 'jail', 'link'))
  }
  for (const name of ['/payload.sh', '/../link']) {
    const bad = await runDriver('in-root', name, jail(`echo ${MARKER}`))
    assert.match(bad.out, new RegExp(`open-errno=${EACCES}`), `${name}: ${bad.out}`)
    const good = await runDriver('in-root', name, jail('echo clean-ran'))
    assert.match(good.out, /read=#!\/bin\/sh\|echo clean-ran\|/, `${name}: ${good.out}`)
  }
})
