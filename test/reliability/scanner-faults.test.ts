// `eyrie record --scan --clamd SOCKET` with clamd killed, stopped (SIGSTOP), or replaced by a server
// that answers garbage, nothing, or hangs up: every exec clamd cannot judge is denied (fail closed),
// every decision is journaled, no decision holds the guest longer than the timeout, and the
// recorder exits when its command does.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { startClamd } from '../../src/scanner/clamd.js'
import { openLmdbJournal } from '../../src/journal/lmdb.js'
import type { Event } from '../../src/events/index.js'
import { SIGNATURES } from '../scanner/support.js'
import { FakeClamd, type Misbehaviour } from './fakeClamd.js'
import { decisionsAbout, faultRun } from './scannerFaults.js'
import { leftoversAfter, startRecorder, tempDir } from './support.js'

const TIMEOUT = 2000
const SLACK = 1000

const denied = (events: readonly Event[], dir: string, n: number): void => {
  const d = decisionsAbout(events, dir, n)
  assert.ok(d.some((e) => e.kind === 'scan.verdict' && e.verdict === 'error' && e.trigger === 'exec'), `s${n}.sh: an error verdict for its exec is journaled`)
  assert.ok(d.some((e) => e.kind === 'access.denied' && e.errno === 13 && e.call === 'execve'), `s${n}.sh: the denial is journaled`)
}

const socketOf = (endpoint: { socket: string } | { host: string; port: number }): string => {
  if (!('socket' in endpoint)) throw new Error('a private clamd listens on a socket')
  return endpoint.socket
}

describe('clamd failing while a guest runs', { concurrency: true }, () => {
  test('given clamd killed mid-run, then the next execs are denied at once and journaled, earlier ones ran, and the recorder exits with its command', async () => {
    const { dir, cleanup } = await tempDir('clamd-killed')
    const clamd = await startClamd({ signatures: SIGNATURES, dir })
    try {
      const r = await faultRun({ dir, socket: socketOf(clamd.endpoint), timeoutMs: TIMEOUT, fault: () => void process.kill(clamd.pid ?? 0, 'SIGKILL') })
      assert.equal(r.hung, false, 'the recorder exits by itself')
      assert.equal(r.status, 0, r.stderr)
      assert.deepEqual(r.codes, ['1 0', '2 0', '3 126', '4 126', '5 126', '6 126'])
      assert.equal(r.ran, 'ran 1\nran 2\n')
      for (const n of [3, 4, 5, 6]) denied(r.events, dir, n)
      assert.ok(r.maxGapMs < TIMEOUT + SLACK, `the guest was held at most ${r.maxGapMs} ms`)
      assert.deepEqual(r.leftovers, [])
    } finally {
      await clamd.stop()
      await cleanup()
    }
  })

  test(`given clamd stopped (SIGSTOP) mid-run, then each decision waits at most the ${TIMEOUT} ms timeout and denies, the recorder still exits, and once clamd continues scanning resumes`, async () => {
    const { dir, cleanup } = await tempDir('clamd-stopped')
    const clamd = await startClamd({ signatures: SIGNATURES, dir })
    const pid = clamd.pid ?? 0
    try {
      const r = await faultRun({
        dir, socket: socketOf(clamd.endpoint), timeoutMs: TIMEOUT,
        fault: () => void process.kill(pid, 'SIGSTOP'),
        // the breaker lets a probe through a second after the last failure
        heal: async () => {
          process.kill(pid, 'SIGCONT')
          await new Promise((r) => setTimeout(r, 1500))
        },
      })
      assert.equal(r.hung, false, 'the recorder exits although a connection to the stopped clamd was left open')
      assert.equal(r.status, 0, r.stderr)
      assert.deepEqual(r.codes, ['1 0', '2 0', '3 126', '4 126', '5 126', '6 0'])
      for (const n of [3, 4, 5]) denied(r.events, dir, n)
      assert.ok(r.maxGapMs >= TIMEOUT * 0.9, `one decision waited the timeout (${r.maxGapMs} ms)`)
      assert.ok(r.maxGapMs < TIMEOUT + SLACK && r.maxGapMs < 5000, `no decision held the guest longer than the timeout: ${r.maxGapMs} ms`)
      assert.ok(r.afterFaultMs < 3 * (TIMEOUT + SLACK), `three runs against a stopped clamd took ${r.afterFaultMs} ms: the breaker answers while clamd is known down`)
      assert.deepEqual(r.leftovers, [])
    } finally {
      try {
        process.kill(pid, 'SIGCONT')
      } catch {
        // gone
      }
      await clamd.stop()
      await cleanup()
    }
  })

  const impostors: ReadonlyArray<readonly [string, Misbehaviour, number]> = [
    ['answers garbage', { kind: 'garbage', answer: Buffer.from('\x00\xff\x13 stream: ?? \n') }, 0],
    ['hangs up', { kind: 'hangup' }, 0],
    ['never answers', { kind: 'silent' }, TIMEOUT],
  ]
  for (const [what, how, waits] of impostors) {
    test(`given a server that passes PING and VERSION but ${what} to INSTREAM, then the guest's first exec is denied within ${waits === 0 ? 'moments' : 'the timeout'}, journaled, and nothing runs`, async () => {
      const { dir, cleanup } = await tempDir('fake-clamd')
      const fake = await FakeClamd.start(dir, how)
      try {
        const journal = join(dir, 'journal')
        const rec = startRecorder({ journal, guest: 'g', cwd: dir, argv: ['sh', '-c', 'echo ran > ran.txt'], options: ['--scan', '--clamd', fake.socket, '--timeout', String(TIMEOUT)] })
        const exit = await rec.exited
        assert.equal(exit.status, 126, exit.stderr)
        assert.match(exit.stderr, /Permission denied/)
        assert.equal(existsSync(join(dir, 'ran.txt')), false)
        assert.ok(fake.instreams >= 1)
        assert.deepEqual(await leftoversAfter(rec.tag), [])
        const j = await openLmdbJournal(journal, { readOnly: true })
        try {
          const events: Event[] = []
          for await (const b of j.read('g', 1, await j.lastSeq('g'))) events.push(...b)
          const verdict = events.findIndex((e) => e.kind === 'scan.verdict' && e.verdict === 'error' && e.trigger === 'exec')
          assert.ok(verdict > 0, 'the error verdict is journaled')
          assert.ok(events.some((e) => e.kind === 'access.denied' && e.errno === 13), 'the denial is journaled')
          const held = Number(events[verdict].ts - events[verdict - 1].ts) / 1e6
          // an answer that is no answer (garbage, hang-up) must not cost the timeout; a loaded machine
          // (CI ran this at load 5 once: 1.5 s) may still take a while to tell
          const bound = waits === 0 ? TIMEOUT : waits + SLACK
          assert.ok(held >= waits * 0.9 && held < bound, `the exec waited ${held} ms (bound ${bound} ms)`)
        } finally {
          await j.close()
        }
      } finally {
        await fake.close()
        await cleanup()
      }
    })
  }

  test('given a server that answers PING with nonsense, then record refuses to start with one line naming the socket, and leaves the journal unlocked', async () => {
    const { dir, cleanup } = await tempDir('fake-clamd')
    const fake = await FakeClamd.start(dir, { kind: 'nonsense' })
    try {
      const journal = join(dir, 'journal')
      const rec = startRecorder({ journal, cwd: dir, argv: ['sh', '-c', 'echo ran > ran.txt'], options: ['--scan', '--clamd', fake.socket, '--timeout', String(TIMEOUT)] })
      const exit = await rec.exited
      assert.equal(exit.status, 1)
      assert.match(exit.stderr, new RegExp(`^eyrie: no clamd at ${fake.socket}: .+\\n$`))
      assert.equal(existsSync(join(dir, 'ran.txt')), false)
      assert.equal(existsSync(join(journal, 'writer.lock')), false)
    } finally {
      await fake.close()
      await cleanup()
    }
  })
})
