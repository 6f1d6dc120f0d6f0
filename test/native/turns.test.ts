// Calls on one file take turns (src/native/order.cc), and a task waiting for its turn is never left
// waiting: test/native/turns.c keeps thread A inside write(2) (its source page is a userfaultfd page
// nobody has filled) while thread B writes the same file through the same description, so B waits at
// its entry for A. Then A's write returns, or the process dies, exits or is let go meanwhile.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Draft } from '../../src/events/index.js'
import { attachPid, recordCommand } from '../../src/native/index.js'
import { Script } from '../support/events.js'
import { compile, ofKind, run, tempDir, until } from './support.js'

const B_RECORD = 'B wrote this after A\n'
const A_PAGE = `${'A'.repeat(4095)}\n`

/** The states (from /proc/PID/task/T/stat) of a process's threads. */
const threadStates = async (pid: number): Promise<string[]> => {
  const out: string[] = []
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '')
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    if (state !== undefined && state !== '') out.push(state)
  }
  return out
}

/** Where each thread of a process waits in the kernel (/proc/PID/task/T/wchan). */
const threadWaits = async (pid: number): Promise<string[]> => {
  const out: string[] = []
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) out.push(await readFile(`/proc/${pid}/task/${tid}/wchan`, 'utf8').catch(() => ''))
  return out
}

/** A is inside its write, waiting for its page. */
const aWaits = (dir: string, pid: number): Promise<void> =>
  until('A to wait inside its write', async () => (await threadWaits(pid)).includes('handle_userfault'))

/** B is waiting at its entry: it made b-ready, and one thread stays in a ptrace stop. */
const bWaits = async (dir: string, pid: number): Promise<void> => {
  await until('B to reach its write', () => existsSync(join(dir, 'b-ready')))
  await until('B to wait at its entry', async () => {
    const before = (await threadStates(pid)).filter((s) => s === 't').length
    await sleep(100)
    return before > 0 && (await threadStates(pid)).filter((s) => s === 't').length > 0
  })
}

/** The file as the drafts have it (the fold over them), byte for byte. */
const folded = (drafts: readonly Draft[], path: string): string => {
  const s = new Script()
  for (const d of drafts) s.add(d.pid, d.body, d.data, d.tid)
  return Buffer.from(s.bytes(s.fold(), path) ?? []).toString('latin1')
}

const start = async (mode: string) => {
  const program = await compile('turns')
  const { dir, cleanup } = await tempDir()
  const out = join(dir, 'out')
  const drafts: Draft[] = []
  const trace = recordCommand([program, mode, out, dir], { cwd: dir, validate: true, writes: 'stop', onBatch: (b) => void drafts.push(...b) })
  await until('the program to start', () => drafts.length > 0)
  const pid = drafts[0].pid
  await writeFile(join(dir, 'a-go'), '')
  await aWaits(dir, pid)
  await writeFile(join(dir, 'b-go'), '')
  await bWaits(dir, pid)
  return { dir, out, drafts, trace, pid, cleanup }
}

test('given thread B writing a file while thread A is inside a write on it, then B waits for A: views can still be read out meanwhile, and the journal has A then B, as the disk', async () => {
  const { dir, out, drafts, trace, pid, cleanup } = await start('release')
  try {
    // a freeze of the process (on-demand view sync) passes over the waiting task and does not hang
    const t0 = Date.now()
    await trace.syncViews()
    assert.ok(Date.now() - t0 < 2000, `syncViews took ${Date.now() - t0} ms`)
    assert.ok(ofKind(drafts, 'view.sync').some((d) => Buffer.from(d.data ?? []).toString('latin1').startsWith('stored through the view')))
    await writeFile(join(dir, 'go'), '')
    const result = await trace.done
    assert.equal(result.status, 0)
    const writes = ofKind(drafts, 'file.write').filter((d) => d.pid === pid && d.tid !== pid && d.body.fd === 3)
    assert.deepEqual(writes.map((d) => [d.body.offset, d.body.len]), [[null, 4096], [null, B_RECORD.length]])
    const disk = await readFile(out, 'latin1')
    assert.equal(disk, A_PAGE + B_RECORD)
    assert.equal(folded(drafts, out), disk)
  } finally {
    await cleanup()
  }
})

test('given B waiting for A, when the process is killed, then the trace ends (nobody waits for a dead task)', async () => {
  const { trace, pid, cleanup } = await start('release')
  try {
    process.kill(pid, 'SIGKILL')
    const result = await Promise.race([trace.done, sleep(10_000).then(() => 'hung' as const)])
    assert.notEqual(result, 'hung')
    assert.equal(typeof result === 'object' ? result.signal : null, 'SIGKILL')
  } finally {
    await cleanup()
  }
})

test('given B waiting for A, when a third thread calls exit_group, then the trace ends with its status', async () => {
  const { dir, trace, cleanup } = await start('exit')
  try {
    await writeFile(join(dir, 'go'), '')
    const result = await Promise.race([trace.done, sleep(10_000).then(() => 'hung' as const)])
    assert.notEqual(result, 'hung')
    assert.equal(typeof result === 'object' ? result.status : null, 3)
  } finally {
    await cleanup()
  }
})

test('given an attached process whose thread B waits for A, when eyrie detaches, then B is let go at once, and once A\'s write returns nothing is left stopped or traced and both writes land', async () => {
  const program = await compile('turns')
  const { dir, cleanup } = await tempDir()
  const out = join(dir, 'out')
  // orphaned: attach refuses a child of this process
  const { stdout } = await run('sh', ['-c', `'${program}' release '${out}' '${dir}' >/dev/null 2>&1 </dev/null & echo $!`])
  const pid = Number(stdout)
  try {
    await until('its threads', async () => (await threadStates(pid)).length === 3)
    const drafts: Draft[] = []
    const session = attachPid(pid, { validate: true, onBatch: (b) => void drafts.push(...b) })
    await until('the snapshot', () => drafts.length > 0)
    await writeFile(join(dir, 'a-go'), '')
    await aWaits(dir, pid)
    await writeFile(join(dir, 'b-go'), '')
    await bWaits(dir, pid)
    session.detach()
    // A cannot stop inside its write (no signal ends a wait for a userfaultfd page); B, stopped at its
    // entry, is let go at once and goes on into the kernel, where it waits for A as it would untraced
    await until('B to be let go', async () => (await threadStates(pid)).filter((s) => s === 't').length === 0)
    await writeFile(join(dir, 'go'), '')
    const result = await Promise.race([session.done, sleep(10_000).then(() => 'hung' as const)])
    assert.notEqual(result, 'hung')
    await until('the process to finish', () => !existsSync(`/proc/${pid}/task`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'))
    assert.equal(await readFile(out, 'latin1'), A_PAGE + B_RECORD)
  } finally {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // it exited
    }
    await cleanup()
  }
})
