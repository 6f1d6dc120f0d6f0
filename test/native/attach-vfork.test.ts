// Attaching to a process inside vfork(): it cannot stop until its child execs or exits, and that
// child, seized with it, was held stopped; the attach waited for both for good (a shell loop vforks
// each command: seen as an attach that never journaled anything, under load).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Draft } from '../../src/events/index.js'
import { attachPid } from '../../src/native/index.js'
import { compile, run } from './support.js'

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
