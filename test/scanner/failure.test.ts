// clamd failing under the gate: killed, or stopped (SIGSTOP: it accepts connections and never
// answers). Every decision comes back within the timeout with the failure policy applied, and
// scanning resumes by itself once clamd is back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import { startClamd, type Clamd } from '../../src/scanner/clamd.js'
import { Gate, type ContentRef } from '../../src/scanner/gate.js'
import { parseFailurePolicy } from '../../src/scanner/policy.js'
import { Scanner } from '../../src/scanner/scanner.js'
import { eicar, eventually, SIGNATURES, tmp } from './support.js'

const inline = (bytes: Uint8Array): ContentRef => ({ read: async () => bytes })

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const timed = async <T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const t0 = performance.now()
  const value = await f()
  return { value, ms: performance.now() - t0 }
}

const policy = (s: string) => {
  const p = parseFailurePolicy(s)
  if (E.isLeft(p)) throw new Error(p.left)
  return p.right
}

test('given clamd killed during a run, exec fails closed within the timeout, open follows the policy, and scanning resumes when clamd is back', async () => {
  const dir = await tmp('killed')
  let clamd: Clamd = await startClamd({ signatures: SIGNATURES, dir })
  try {
    const scanner = await Scanner.open(clamd, { timeoutMs: 2000, retryAfterMs: 300 })
    const gate = new Gate({ scanner })
    const strict = new Gate({ scanner, failure: policy('deny') })
    assert.equal((await gate.decideExec('/w/tool', inline(randomBytes(100)))).errno, 0)

    const pid = clamd.pid ?? 0
    process.kill(pid, 'SIGKILL')
    await eventually(() => !alive(pid))

    const exec = await timed(() => gate.decideExec('/w/tool', inline(randomBytes(100))))
    assert.ok(exec.ms < 2000, `exec decided in ${exec.ms} ms`)
    assert.equal(exec.value.errno, 13)
    assert.deepEqual(exec.value.events.map((e) => e.kind), ['scan.verdict', 'access.denied'])
    assert.equal(exec.value.events[0].kind === 'scan.verdict' && exec.value.events[0].verdict, 'error')
    assert.match(exec.value.message, /denied \(fail closed\)/)

    const open = await gate.decideOpen('/w/lib.so', inline(randomBytes(100)))
    assert.equal(open.errno, 0)
    assert.deepEqual(open.events.map((e) => e.kind), ['scan.verdict'])
    assert.equal((await strict.decideOpen('/w/lib.so', inline(randomBytes(100)))).errno, 13)

    clamd = await startClamd({ signatures: SIGNATURES, dir })
    let last = await scanner.scanBytes(eicar())
    const t0 = Date.now()
    while (last.verdict.kind === 'error' && Date.now() - t0 < 5000) {
      await new Promise((r) => setTimeout(r, 50))
      last = await scanner.scanBytes(eicar())
    }
    assert.equal(last.verdict.kind, 'infected')
    assert.equal((await gate.decideExec('/w/tool', inline(randomBytes(100)))).errno, 0)
  } finally {
    await clamd.stop()
  }
})

test('given clamd stopped with SIGSTOP, a scan waits at most its timeout (< 5 s) and errs; continued, it scans again', async () => {
  const clamd = await startClamd({ signatures: SIGNATURES })
  const pid = clamd.pid ?? 0
  try {
    const scanner = await Scanner.open(clamd, { timeoutMs: 1500, retryAfterMs: 200 })
    const gate = new Gate({ scanner })
    process.kill(pid, 'SIGSTOP')

    const first = await timed(() => gate.decideExec('/w/tool', inline(randomBytes(4096))))
    assert.ok(first.ms >= 1400 && first.ms < 5000, `waited ${first.ms} ms`)
    assert.equal(first.value.errno, 13)
    // which wait runs out first (the answer, or a connection a version probe still holds) is a race
    assert.match(first.value.message, /(no answer from clamd .*|no free clamd connection) within/)

    // the breaker answers at once while clamd is known to be down: tracees are not held a second time
    const second = await timed(() => gate.decideExec('/w/tool', inline(randomBytes(4096))))
    assert.ok(second.ms < 1000, `second decision took ${second.ms} ms (a wait for clamd would take the 1500 ms timeout)`)
    assert.equal(second.value.errno, 13)

    process.kill(pid, 'SIGCONT')
    // the breaker lets a probe through after retryAfterMs; a loaded machine may need a few of them
    let resumed = await scanner.scanBytes(eicar())
    for (const t0 = Date.now(); resumed.verdict.kind === 'error' && Date.now() - t0 < 5000; ) {
      await new Promise((r) => setTimeout(r, 100))
      resumed = await scanner.scanBytes(eicar())
    }
    assert.equal(resumed.verdict.kind, 'infected')
  } finally {
    process.kill(pid, 'SIGCONT')
    await clamd.stop()
  }
})

test('given failure policies as text, when parsed, then exec stays fail-closed unless named', () => {
  assert.deepEqual(policy('allow'), { exec: 'deny', open: 'allow' })
  assert.deepEqual(policy('deny'), { exec: 'deny', open: 'deny' })
  assert.deepEqual(policy('exec=allow,open=deny'), { exec: 'allow', open: 'deny' })
  assert.deepEqual(policy('open=deny'), { exec: 'deny', open: 'deny' })
  for (const bad of ['', 'maybe', 'exec=maybe', 'read=deny', 'exec=deny=1']) assert.equal(E.isLeft(parseFailurePolicy(bad)), true, bad)
})
