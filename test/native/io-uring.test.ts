// io_uring: a ring's operations run in the kernel without a system call eyrie sees. The interceptor
// reports each process that uses one (proc.ioUring) instead of missing its writes silently; the
// kernel is the oracle: test/native/uring.c writes with IORING_OP_WRITE, and the disk has bytes the
// journal does not.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Draft } from '../../src/events/index.js'
import { attachPid } from '../../src/native/index.js'
import { eyrie } from '../support/cli.js'
import { compile, ofKind, record, run, tempDir } from './support.js'

const TEXT = 'written through the ring\n'
const BIN = new URL('../../bin/eyrie.js', import.meta.url).pathname

/** Drafts that would put bytes into `path`: writes on an fd opened on it, observations, view syncs. */
const bytesFor = (drafts: readonly Draft[], path: string): Draft[] => {
  const fds = new Set(ofKind(drafts, 'fd.open').filter((d) => d.body.path === path).map((d) => `${d.pid}:${d.body.fd}`))
  return drafts.filter((d) =>
    (d.body.kind === 'file.write' && fds.has(`${d.pid}:${d.body.fd}`)) ||
    ((d.body.kind === 'file.observe' || d.body.kind === 'view.sync') && d.body.path === path && d.body.known > 0))
}

for (const mode of ['plain', 'sqpoll'] as const) {
  test(`given a program that writes a file through io_uring (${mode}) and a child that uses the inherited ring, when recorded, then each process is reported and the writes are not journaled`, async () => {
    const program = await compile('uring')
    const { dir, cleanup } = await tempDir()
    try {
      const out = join(dir, 'out')
      const { drafts, result } = await record([program, 'write', out, TEXT, ...(mode === 'sqpoll' ? ['sqpoll'] : [])], dir)
      assert.equal(result.status, 0)
      assert.equal(await readFile(out, 'utf8'), TEXT + TEXT, 'the kernel wrote both')
      const main = drafts[0].pid
      const [fork] = ofKind(drafts, 'proc.spawn')
      const rings = ofKind(drafts, 'proc.ioUring').map((d) => [d.pid, d.body.via, d.body.fd])
      assert.deepEqual(rings, [[main, 'setup', 4], [fork.body.child, 'enter', 4]])
      // the open is journaled (created, so known empty), the writes through the ring are not
      assert.deepEqual(ofKind(drafts, 'fd.open').filter((d) => d.body.path === out).map((d) => d.body.created), [true])
      assert.deepEqual(bytesFor(drafts, out), [])
      // reported before anything it could have written through the ring
      assert.ok(drafts.indexOf(ofKind(drafts, 'proc.ioUring')[0]) < drafts.indexOf(fork))
    } finally {
      await cleanup()
    }
  })
}

test('given a recording with io_uring, then `eyrie record` ends with one warning naming the pids, `log` shows the events, `ps` marks the processes and `at` says the file state is incomplete', async () => {
  const program = await compile('uring')
  const { dir, cleanup } = await tempDir()
  try {
    const journal = join(dir, 'journal')
    const rec = eyrie(['--guest', 'ring', 'record', '--', program, 'write', 'out', TEXT], { journal, cwd: dir })
    assert.equal(rec.status, 0, rec.stderr)
    const log = eyrie(['log', '--kind', 'proc.ioUring', '--json'], { journal }).stdout.trim().split('\n').map((l) => JSON.parse(l) as { pid: number; via: string; fd: number | null; seq: number })
    assert.deepEqual(log.map((e) => [e.via, e.fd]), [['setup', 4], ['enter', 4]])
    const [parent, child] = log.map((e) => e.pid)
    const warnings = rec.stderr.split('\n').filter((l) => l.includes('io_uring'))
    assert.deepEqual(warnings, [`eyrie: warning: processes ${parent}, ${child} used io_uring: file operations they submitted through a ring are not in the journal, so the recorded file state is incomplete (eyrie log --kind proc.ioUring)`])
    assert.match(eyrie(['log', '--kind', 'proc'], { journal }).stdout, /proc\.ioUring\s+│ via=setup fd=4\s/)

    const ps = JSON.parse(eyrie(['at', 'end', 'ps', '--json'], { journal }).stdout) as { procs: Array<{ pid: number; ioUring: number | null }> }
    assert.deepEqual(ps.procs.filter((p) => p.ioUring !== null).map((p) => [p.pid, p.ioUring]), log.map((e) => [e.pid, e.seq]))
    assert.match(eyrie(['at', 'end', 'ps'], { journal }).stdout, new RegExp(`exited 0, io_uring from #${log[0].seq}`))
    // the ring's writes made no call eyrie saw, but the file was opened by a traced call and is read
    // back when its writers exit: the journal has its bytes; the answer still says it is partial
    // (what else a ring does, opens, renames, is not seen)
    const cat = eyrie(['at', 'end', 'cat', join(dir, 'out')], { journal })
    assert.equal(cat.status, 0)
    assert.equal(cat.stdout, TEXT + TEXT)
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), TEXT + TEXT)
    assert.match(cat.stderr, new RegExp(`^eyrie: file state at #\\d+ is incomplete: processes ${parent} \\(from #${log[0].seq}\\), ${child} \\(from #${log[1].seq}\\) used io_uring`))
    // before the first ring nothing is partial (the file may be noted as held open for writing)
    assert.doesNotMatch(eyrie(['at', `#${log[0].seq - 1}`, 'ls', dir], { journal }).stderr, /io_uring|incomplete/)
    // an export says so too, on stderr and in its manifest
    const ex = eyrie(['export', '--at', 'end', '--under', dir, join(dir, 'export')], { journal })
    assert.equal(ex.status, 0, ex.stderr)
    assert.match(ex.stderr, new RegExp(`incomplete: process\\(es\\) ${parent} \\(from #${log[0].seq}\\), ${child} \\(from #${log[1].seq}\\) used io_uring`))
    const manifest = JSON.parse(await readFile(join(dir, 'export', 'manifest.json'), 'utf8')) as { ioUring: Array<{ pid: number; seq: number }> }
    assert.deepEqual(manifest.ioUring, log.map((e) => ({ pid: e.pid, seq: e.seq })))
    assert.equal(eyrie(['verify'], { journal }).status, 0)
  } finally {
    await cleanup()
  }
})

/** Starts `uring wait` in the background, orphaned (attach refuses a child of this process). */
const background = async (program: string, args: readonly string[], cwd: string): Promise<number> => {
  const quoted = [program, ...args].map((a) => `'${a}'`).join(' ')
  const { stdout } = await run('sh', ['-c', `${quoted} >/dev/null 2>&1 </dev/null & echo $!`], { cwd })
  return Number(stdout)
}

const ringFd = async (pid: number): Promise<number> => {
  for (let i = 0; i < 500; i++) {
    const { stdout } = await run('ls', ['-l', `/proc/${pid}/fd`])
    const m = / (\d+) -> anon_inode:\[io_uring\]/.exec(stdout)
    if (m !== null) return Number(m[1])
    await sleep(10)
  }
  throw new Error(`process ${pid} made no ring`)
}

for (const mode of ['plain', 'sqpoll'] as const) {
  test(`given a process that made an io_uring (${mode}) before eyrie came, when eyrie attaches, then the ring is reported after the snapshot and the write through it is not journaled`, async () => {
    const program = await compile('uring')
    const { dir, cleanup } = await tempDir()
    const out = join(dir, 'out')
    const pid = await background(program, ['wait', out, TEXT, join(dir, 'go'), ...(mode === 'sqpoll' ? ['sqpoll'] : [])], dir)
    try {
      const fd = await ringFd(pid)
      const drafts: Draft[] = []
      const session = attachPid(pid, { validate: true, onBatch: (b) => void drafts.push(...b) })
      const deadline = Date.now() + 10_000
      while (ofKind(drafts, 'proc.ioUring').length === 0 && Date.now() < deadline) await sleep(10)
      await writeFile(join(dir, 'go'), '')
      const result = await session.done
      assert.equal(result.status, 0)
      assert.equal(drafts[0].body.kind, 'snapshot')
      assert.deepEqual(ofKind(drafts, 'proc.ioUring').map((d) => [d.pid, d.body.via, d.body.fd]), [[pid, 'held', fd]])
      assert.equal(await readFile(out, 'utf8'), TEXT)
      assert.deepEqual(drafts.filter((d) => d.body.kind === 'file.write' && d.pid === pid), [])
    } finally {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // it exited
      }
      await cleanup()
    }
  })
}

test('given a process with an io_uring, when `eyrie attach` follows it to its exit, then it ends with the warning naming it', async () => {
  const program = await compile('uring')
  const { dir, cleanup } = await tempDir()
  const pid = await background(program, ['wait', join(dir, 'out'), TEXT, join(dir, 'go')], dir)
  try {
    await ringFd(pid)
    const journal = join(dir, 'journal')
    const att = spawn(process.execPath, [BIN, '--journal', journal, 'attach', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    att.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    const exited = new Promise<number | null>((res) => att.once('exit', (code) => res(code)))
    const deadline = Date.now() + 30_000
    while (!/^TracerPid:\s+[1-9]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')) && Date.now() < deadline) await sleep(20)
    await sleep(200) // the snapshot is taken once every task is stopped
    await writeFile(join(dir, 'go'), '')
    assert.equal(await exited, 0, stderr)
    assert.match(stderr, new RegExp(`process ${pid} exited with status 0\\neyrie: warning: process ${pid} used io_uring: file operations it submitted through a ring are not in the journal`))
  } finally {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // it exited
    }
    await cleanup()
  }
})
