// Attaching to a running process tree: snapshot first, then its calls; detach leaves it running.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Draft } from '../../src/events/index.js'
import { attachPid, TraceError } from '../../src/native/index.js'
import { background, childrenOf, ofKind, procStatus, record, tempDir, text, until } from './support.js'

test('given a running shell loop, when eyrie attaches, then the first draft is its snapshot, its writes follow, and after detach it runs on untraced', async () => {
  const { dir, cleanup } = await tempDir()
  const pid = await background('exec 7>>log; while :; do if [ -e go ]; then echo data >> out; rm go; fi; sleep 0.02; done', dir)
  try {
    await sleep(100)
    const drafts: Draft[] = []
    const session = attachPid(pid, { validate: true, onBatch: (b) => void drafts.push(...b) })
    // a trace that fails meanwhile says why, rather than the wait timing out (seen once, not explained)
    let failed: unknown
    session.done.catch((err: unknown) => (failed = err))
    await until('the snapshot', () => {
      if (failed !== undefined) throw failed
      return drafts.length > 0
    }).catch((err: unknown) => {
      const states = [pid, ...childrenOf(pid)].map((p) => `${p}: ${JSON.stringify(procStatus(p) ?? 'gone')}`)
      throw new Error(`${err instanceof Error ? err.message : String(err)}; the tree: ${states.join(', ')}`, { cause: err })
    })
    const snap = drafts[0].body
    assert.equal(snap.kind, 'snapshot')
    const me = snap.procs.find((p) => p.pid === pid)
    assert.ok(me !== undefined)
    assert.equal(me.cwd, dir)
    assert.equal(me.exe, '/usr/bin/dash')
    assert.deepEqual(me.threads, [pid])
    const log = me.fds.find((f) => f.fd === 7)
    assert.deepEqual([log?.path, log?.cloexec], [join(dir, 'log'), false])
    assert.ok(me.maps.some((m) => m.path === '/usr/bin/dash' && (m.prot & 4) !== 0))
    assert.ok(snap.files.some((f) => f.path === join(dir, 'log') && f.type === 'file' && f.size === 0))

    await writeFile(join(dir, 'go'), '')
    await until('the loop to write', () => ofKind(drafts, 'file.unlink').some((d) => d.body.path === join(dir, 'go')))
    session.detach()
    const result = await session.done
    assert.equal(result.status, null, 'still running')
    // attach stops at every call: the loop's rm shows in the stop statistics, as do calls it does not journal
    assert.ok(result.stats.calls.some((c) => c.name === 'unlinkat' && c.entries >= 1 && c.exits >= 1), JSON.stringify(result.stats.calls))
    assert.ok(result.stats.calls.some((c) => c.name.startsWith('syscall ')), 'calls outside the table count too')
    assert.ok(result.stats.events.some((e) => e.name === 'exec' && e.stops >= 1))
    const write = ofKind(drafts, 'file.write').find((d) => text(d) === 'data\n')
    assert.ok(write !== undefined && write.pid === pid)
    assert.ok(ofKind(drafts, 'fd.open').some((d) => d.body.path === join(dir, 'out')))

    // let go: not stopped, not traced, still doing its work
    await sleep(50)
    const after = procStatus(pid)
    assert.ok(after !== null, 'still running')
    assert.equal(after.tracer, 0)
    assert.notEqual(after.state, 't')
    assert.notEqual(after.state, 'T')
    await writeFile(join(dir, 'go'), '')
    await until('the loop to write untraced', async () => (await readFile(join(dir, 'out'), 'utf8')) === 'data\ndata\n')
  } finally {
    process.kill(pid, 'SIGKILL')
    await cleanup()
  }
})

test('given a child of this very process, when eyrie attaches, then it refuses with EINVAL (node would take the stops)', async () => {
  const child = spawn('sleep', ['10'], { stdio: 'ignore' })
  try {
    assert.ok(child.pid !== undefined)
    const { done } = attachPid(child.pid, { onBatch: () => undefined })
    await assert.rejects(done, (err: unknown) => err instanceof TraceError && err.code === 'EINVAL' && /child of this process/.test(err.message))
  } finally {
    child.kill('SIGKILL')
  }
})

test('given a pid that does not exist, when eyrie attaches, then it fails with ESRCH', async () => {
  const gone = spawn('true')
  await new Promise((resolve) => gone.on('exit', resolve))
  assert.ok(gone.pid !== undefined)
  const { done } = attachPid(gone.pid, { onBatch: () => undefined })
  await assert.rejects(done, (err: unknown) => err instanceof TraceError && err.code === 'ESRCH' && /no process/.test(err.message))
})

test('given a process that is already traced, when eyrie attaches, then it fails with EPERM naming the tracer', async () => {
  const { dir, cleanup } = await tempDir()
  try {
    let pid = 0
    const first = record(['sleep', '30'], dir, { onBatch: (b) => void (pid ||= b[0].pid) })
    await until('sleep to run', () => pid !== 0)
    const { done } = attachPid(pid, { onBatch: () => undefined })
    await assert.rejects(done, (err: unknown) => err instanceof TraceError && err.code === 'EPERM' && /already traced by process \d+/.test(err.message))
    assert.notEqual(procStatus(pid)?.state, 'Z')
    process.kill(pid, 'SIGKILL')
    assert.equal((await first).result.signal, 'SIGKILL')
  } finally {
    await cleanup()
  }
})
