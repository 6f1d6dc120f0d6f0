// Helpers eyrie owns (the private clamd) are started outside libuv (src/native/daemon.cc): a child
// of libuv's makes it catch SIGCHLD, and then every traced process's exit woke the JavaScript thread
// while the tracees waited (~200 µs per exec under --scan). Their ends are still seen and reaped.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { spawnDaemon } from '../../src/native/daemon.js'
import { BIN, eyrie, testEnv } from '../support/cli.js'
import { SIGNATURES, tmp, withPrivateClamd } from '../scanner/support.js'
import { childrenOf, commOf, procStatus } from './support.js'
// @ts-expect-error plain JavaScript beside the command (bin/), no types
import { distFresh } from '../../bin/fresh.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

const SIGCHLD_BIT = 1n << 16n // SIGCHLD is 17: bit 16 of /proc/PID/status's masks

test('given record --scan with a private clamd, the recorder catches no SIGCHLD while the command runs', async (t) => {
  // from the sources, tsx's esbuild runs as a child of the recorder, and libuv catches SIGCHLD for it
  if (!distFresh(ROOT)) return t.skip('dist/ is older than src/: run scripts/build.sh (npm test does)')
  const dir = await tmp('daemon-sigchld')
  // the command's parent is the recorder (its tracer thread forked it)
  const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'sh', '-c', 'grep SigCgt /proc/$PPID/status'], { journal: join(dir, 'journal'), cwd: dir })
  assert.equal(r.status, 0, r.stderr)
  const caught = /SigCgt:\s*([0-9a-f]+)/.exec(r.stdout)
  assert.ok(caught !== null, r.stdout)
  assert.equal(BigInt(`0x${caught[1]}`) & SIGCHLD_BIT, 0n, `the recorder catches SIGCHLD: ${caught[1]}`)
  assert.match(r.stderr, /verdict/, 'clamd judged the shell: the scanner was running')
})

test('given a daemon, its exit status or the signal that ended it is reported once it is reaped, stderr lands in its file, and a missing program throws ENOENT', async () => {
  const dir = await tmp('daemon-exit')
  const exits = spawnDaemon(['/bin/sh', '-c', 'echo to-stderr >&2; exit 3'], join(dir, 'exits.err'))
  assert.equal(await exits.ended, 3)
  assert.equal(exits.running, false)
  assert.equal(existsSync(`/proc/${exits.pid}`), false, 'reaped: no zombie left')
  assert.equal(readFileSync(join(dir, 'exits.err'), 'utf8'), 'to-stderr\n')

  const sleeper = spawnDaemon(['/bin/sleep', '60'], join(dir, 'sleeper.err'))
  assert.equal(sleeper.running, true)
  // its own session: a ^C at the terminal (our process group) does not reach it
  const stat = readFileSync(`/proc/${sleeper.pid}/stat`, 'utf8').split(') ')[1].split(' ')
  assert.equal(Number(stat[3]), sleeper.pid, 'session leader')
  sleeper.kill('SIGTERM')
  assert.equal(await sleeper.ended, 'SIGTERM')
  sleeper.kill('SIGTERM') // after the end: nothing is sent (the pid may be another process's)

  assert.throws(() => spawnDaemon([join(dir, 'missing')], join(dir, 'missing.err')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT')
})

/** Whether pid runs (exists and is not a zombie). */
const runs = (pid: number): boolean => {
  const s = procStatus(pid)
  return s !== null && s.state !== 'Z'
}
const until = async (what: string, ok: () => boolean, ms: number): Promise<void> => {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
}

test('given record --scan killed outright (SIGKILL: no exit handler runs), its private clamd does not outlive it, and the next private clamd removes what it left', async () => {
  const dir = await tmp('daemon-orphan')
  const rec = spawn(process.execPath, [BIN, '--journal', join(dir, 'journal'), 'record', '--scan', '--signatures', SIGNATURES, '--', 'sleep', '30'], { cwd: dir, env: testEnv(), stdio: 'ignore' })
  const pid = rec.pid ?? 0
  let clamd: number | undefined
  let left = ''
  try {
    await until('a private clamd', () => (clamd = childrenOf(pid).find((c) => commOf(c) === 'clamd')) !== undefined, 30_000)
    await until('the recorded sleep', () => childrenOf(pid).some((c) => commOf(c) === 'sleep'), 30_000)
    // its run directory (clamd's --config-file is in it), with the databases copied for this run
    const config = readFileSync(`/proc/${clamd}/cmdline`, 'utf8').split('\0').find((a) => a.endsWith('/clamd.conf')) ?? ''
    left = dirname(config)
    assert.equal(existsSync(join(left, 'db')), true, `${left}: the run's databases`)
  } finally {
    rec.kill('SIGKILL')
  }
  await new Promise((r) => rec.once('exit', r))
  // orphaned, it is init's (or a subreaper's) to reap: gone or a zombie, it no longer runs
  await until(`clamd ${clamd} ending`, () => !runs(clamd ?? 0), 10_000)
  // (a private clamd of another test file may remove it first: it is that one's to remove then)
  const next = await withPrivateClamd()
  await next.stop()
  assert.equal(existsSync(left), false, `${left}: removed by the next private clamd`)
})
