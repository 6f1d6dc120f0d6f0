// The start of a recorded command: R(0) and the fds it inherits are read from /proc only once the
// child has put its stdio and cwd in place. Read earlier (the child still setting up, node's fds in
// its table), a `> file` stdout was not adopted and what the command wrote there never reached the
// journal: 17 of 150 starts under two busy loops, before the tracer waited for the child. A start
// that fails before the child runs (no descriptor left for a pipe) leaves no descriptor behind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Draft } from '../../src/events/index.js'
import { traceCommand } from '../../src/native/index.js'
import { run, tempDir } from './support.js'

const STARTS = 80

test(`given ${STARTS} recorded commands whose stdout is a file, started while two busy loops compete for the CPUs, then each one's snapshot has its stdout and cwd and its output is journaled`, async () => {
  const { dir, cleanup } = await tempDir()
  const busy = [0, 1].map(() => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }))
  try {
    const missed: string[] = []
    for (let i = 0; i < STARTS; i++) {
      const path = join(dir, `out${i}`)
      const out = openSync(path, 'w+')
      const drafts: Draft[] = []
      try {
        await traceCommand(['/bin/echo', `hello${i}`], { cwd: dir, stdio: { stdout: out }, onBatch: async (b) => void drafts.push(...b) })
      } finally {
        closeSync(out)
      }
      const snap = drafts[0]?.body
      const proc = snap?.kind === 'snapshot' ? snap.procs[0] : undefined
      if (proc?.cwd !== dir || proc.fds.find((f) => f.fd === 1)?.path !== path) missed.push(`#${i}: snapshot cwd ${proc?.cwd}, fd 1 ${proc?.fds.find((f) => f.fd === 1)?.path}`)
      if (!drafts.some((d) => d.body.kind === 'file.sync' && Buffer.from(d.data ?? []).toString() === `hello${i}\n`)) missed.push(`#${i}: output not journaled`)
    }
    assert.deepEqual(missed, [])
  } finally {
    for (const b of busy) b.kill('SIGKILL')
    await cleanup()
  }
})

test('given too few free descriptors for its pipes, when a recording cannot start, then it says so and the pipes it did create are closed', async () => {
  const script = fileURLToPath(new URL('./fdlimit.ts', import.meta.url))
  const { stdout } = await run('prlimit', ['--nofile=80:80', process.execPath, '--import', 'tsx', script])
  const starts = JSON.parse(stdout) as { free: number; message: string; before: string[] | string; after: string[] | string }[]
  assert.equal(starts.length, 5)
  for (const s of starts) {
    // the start needs three pipes: with fewer than six free descriptors, one of them fails
    assert.match(s.message, /cannot create a pipe: Too many open files/, `with ${s.free} free`)
    assert.ok(Array.isArray(s.before) && Array.isArray(s.after), `with ${s.free} free: the table has room to list it (${String(s.after)})`)
    // none opened by the failed start is left (the runtime may close one of its own meanwhile)
    assert.deepEqual(s.after.filter((fd) => !s.before.includes(fd)), [], `with ${s.free} free: descriptors left by the failed start`)
  }
})
