// Attaching to a process inside vfork(): it cannot stop until its child execs or exits, and that
// child, seized with it, was held stopped; the attach waited for both for good (a shell loop vforks
// each command: seen as an attach that never journaled anything, under load).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Draft } from '../../src/events/index.js'
import { attachPid } from '../../src/native/index.js'
import { background, commOf, compile, procStatus, run, treeOf } from './support.js'

test('given a process waiting in vfork for a child that sleeps before its exec, when eyrie attaches, then the snapshot comes and the child\'s exec follows', async () => {
  const bin = await compile('vforker')
  // orphaned: not a child of this process (eyrie attaches to other trees)
  const { stdout } = await run('sh', ['-c', `'${bin}' >/dev/null 2>&1 </dev/null & echo $!`])
  const pid = Number(stdout)
  try {
    await sleep(150) // inside its first vfork
    const drafts: Draft[] = []
    const session = attachPid(pid, { validate: true, onBatch: (b) => void drafts.push(...b) })
    let failed: unknown
    session.done.catch((err: unknown) => (failed = err))
    for (const end = Date.now() + 10_000; !drafts.some((d) => d.body.kind === 'proc.exec'); await sleep(20)) {
      if (failed !== undefined) throw failed
      if (Date.now() > end) throw new Error(`no exec journaled within 10 s (${drafts.length} drafts: ${[...new Set(drafts.map((d) => d.body.kind))].join(', ')})`)
    }
    assert.equal(drafts[0].body.kind, 'snapshot')
    session.detach()
    await session.done
  } finally {
    process.kill(pid, 'SIGKILL')
  }
})

test('given an attach still waiting for a task in vfork to stop, when it is told to detach, then it ends at once, every task runs on untraced and nothing is journaled', async () => {
  const bin = await compile('vforker')
  // a tree: a sleeper (stops at once) beside a process whose vfork child sleeps 3 s before its exec
  const root = await background(`sleep 60 & "${bin}" 3000 & wait`)
  let pids: number[] = []
  try {
    // the shell, the sleeper (once it has exec'd), the vforking process and its child
    let sleeper: number | undefined
    for (const end = Date.now() + 5000; (pids = treeOf(root)).length < 4 || (sleeper = pids.find((p) => commOf(p) === 'sleep')) === undefined; await sleep(20)) {
      if (Date.now() > end) throw new Error(`the tree of ${root} did not start: ${pids.map((p) => `${p} ${commOf(p)}`).join(', ')}`)
    }
    const drafts: Draft[] = []
    const session = attachPid(root, { validate: true, onBatch: (b) => void drafts.push(...b) })
    let ended = false
    const done = session.done.finally(() => (ended = true))
    // seized and stopped for the snapshot, which waits for the process inside vfork
    for (const end = Date.now() + 3000; procStatus(sleeper)?.state !== 't'; await sleep(10)) {
      if (Date.now() > end) throw new Error(`the sleeper was not stopped by the attach: ${JSON.stringify(procStatus(sleeper))}`)
    }
    await sleep(200)
    assert.equal(drafts.length, 0, 'no snapshot while a task cannot stop')
    session.detach()
    const asked = Date.now()
    for (let s = procStatus(sleeper); s !== null && (s.state === 't' || s.tracer !== 0); await sleep(10), s = procStatus(sleeper)) {
      if (Date.now() - asked > 1000) throw new Error(`the sleeper is still held 1 s after the detach: ${JSON.stringify(procStatus(sleeper))}${ended ? '' : ' (the attach has not ended)'}`)
    }
    // nothing is half done: the attach ends without waiting for the task inside vfork, which the
    // kernel lets go as the tracer thread ends
    await Promise.race([done, sleep(1000).then(() => {
      throw new Error('the attach did not end within 1 s of the detach')
    })])
    assert.equal(drafts.length, 0, 'nothing journaled')
    const traced = () => treeOf(root).filter((p) => (procStatus(p)?.tracer ?? 0) !== 0)
    for (const end = Date.now() + 1000; traced().length > 0; await sleep(10)) {
      if (Date.now() > end) throw new Error(`still traced 1 s after the end: ${traced().map((p) => `${p} ${commOf(p)} ${JSON.stringify(procStatus(p))}`).join(', ')}`)
    }
    // and the process inside vfork goes on: its child execs, and it vforks again
    const vforker = pids.find((p) => commOf(p) === 'vforker')
    assert.ok(vforker !== undefined)
    const children = (): number[] => treeOf(vforker).slice(1)
    const first = children()
    for (const end = Date.now() + 6000; children().every((c) => first.includes(c)); await sleep(50)) {
      if (Date.now() > end) throw new Error(`the vforking process made no new child within 6 s: ${JSON.stringify(procStatus(vforker))}`)
    }
  } finally {
    for (const p of [...treeOf(root), ...pids].reverse()) {
      try {
        process.kill(p, 'SIGKILL')
      } catch {
        // gone already
      }
    }
  }
})

test('given an attached process that went into vfork after the attach, when eyrie detaches, then it ends within its grace and says which task the kernel let go; that task runs on untraced', async () => {
  const bin = await compile('vforker')
  // attached while sleeping; then it becomes a process whose vfork child sleeps 8 s before its exec
  const root = await background(`sleep 0.5; exec "${bin}" 8000`)
  try {
    const drafts: Draft[] = []
    const session = attachPid(root, { validate: true, onBatch: (b) => void drafts.push(...b) })
    // traced into vfork: its child exists (and sleeps), the parent waits for it, uninterruptibly
    for (const end = Date.now() + 5000; treeOf(root).length < 2 || commOf(root) !== 'vforker'; await sleep(20)) {
      if (Date.now() > end) throw new Error(`the attached process did not vfork: ${treeOf(root).map((p) => `${p} ${commOf(p)}`).join(', ')}`)
    }
    await sleep(200)
    assert.equal(drafts[0]?.body.kind, 'snapshot')
    const asked = Date.now()
    session.detach()
    const result = await Promise.race([session.done, sleep(5000).then(() => {
      throw new Error('the detach did not end within 5 s: it waited for the task inside vfork')
    })])
    assert.ok(Date.now() - asked < 4000, `ended ${Date.now() - asked} ms after the detach`)
    assert.match(result.message ?? '', new RegExp(`^1 task\\(s\\) in an uninterruptible wait could not stop to be let go \\(${root}\\)`))
    // the kernel lets it go as the tracer thread ends: it runs on, untraced
    for (const end = Date.now() + 1000; (procStatus(root)?.tracer ?? 0) !== 0; await sleep(10)) {
      if (Date.now() > end) throw new Error(`${root} is still traced 1 s after the end: ${JSON.stringify(procStatus(root))}`)
    }
    for (const p of treeOf(root)) assert.equal(procStatus(p)?.tracer ?? 0, 0, `${p} untraced`)
  } finally {
    for (const p of treeOf(root).reverse()) {
      try {
        process.kill(p, 'SIGKILL')
      } catch {
        // gone already
      }
    }
  }
})
