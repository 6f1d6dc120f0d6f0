// `record --stats`: the interceptor's stops per call and event, checked against what the same run
// journaled (every exec is one exec-event stop and one proc.exec; every new process one fork, vfork
// or clone stop and one proc.spawn; every open one openat entry and exit).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StopStats } from '../../src/native/index.js'
import { recorderCpuIn, stopStatsIn } from '../../src/cli/stopStats.js'
import { eyrie } from '../support/cli.js'
import { SIGNATURES } from '../scanner/support.js'

const kinds = (journal: string): Map<string, number> => {
  const out = new Map<string, number>()
  for (const line of eyrie(['log', '--json'], { journal }).stdout.split('\n')) {
    if (line === '') continue
    const kind = (JSON.parse(line) as { kind: string }).kind
    out.set(kind, (out.get(kind) ?? 0) + 1)
  }
  return out
}

/** The JSON block `--json record --stats` writes to stderr after its summary line. */
const statsOf = (stderr: string): StopStats => {
  const s = stopStatsIn(stderr)
  assert.ok(s !== null, `no stop statistics in: ${stderr}`)
  return s
}

const SCRIPT = 'for i in 1 2 3; do /bin/true; done; echo hi > x; cat x > y; (cat y) | cat > z'

test('given record --stats, the stops it reports agree with what the run journaled', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eyrie-stats-'))
  try {
    const journal = join(dir, 'journal')
    const r = eyrie(['--json', 'record', '--stats', '--', 'sh', '-c', SCRIPT], { journal, cwd: dir })
    assert.equal(r.status, 0, r.stderr)
    const s = statsOf(r.stderr)
    const k = kinds(journal)
    const event = (name: string): number => s.events.find((e) => e.name === name)?.stops ?? 0
    const call = (name: string) => s.calls.find((c) => c.name === name)
    assert.equal(event('exec'), k.get('proc.exec'), 'an exec-event stop per proc.exec')
    assert.equal(event('fork') + event('vfork') + event('clone'), k.get('proc.spawn'), 'a fork, vfork or clone stop per proc.spawn')
    const openat = call('openat')
    assert.ok(openat !== undefined && openat.entries === openat.exits, JSON.stringify(openat))
    assert.ok(openat.entries >= (k.get('fd.open') ?? 0), `an entry stop per open at least: ${openat.entries} vs ${k.get('fd.open')}`)
    assert.ok((call('execve')?.entries ?? 0) >= 5, 'execve entries')
    for (const c of s.calls) assert.ok(c.ns > 0 && c.entries + c.exits > 0, `${c.name}: time and stops`)
    assert.equal(s.questions, 0)
    // the recorder's own CPU while it recorded: a tracer, JavaScript and the journal ran
    const cpu = recorderCpuIn(r.stderr)
    assert.ok(cpu !== null && cpu.userMs + cpu.systemMs > 0, JSON.stringify(cpu))
    // the table for people
    const human = eyrie(['record', '--stats', '--', 'sh', '-c', SCRIPT], { journal, cwd: dir })
    assert.equal(human.status, 0, human.stderr)
    assert.match(human.stderr, /^call +entries +exits +tracer ms +µs\/stop$/m)
    assert.match(human.stderr, /^openat +\d+ +\d+ +[\d.]+ +[\d.]+$/m)
    assert.match(human.stderr, /^\(exec\) +\d+ +[\d.]+ +[\d.]+$/m)
    assert.match(human.stderr, /^total +\d+ +[\d.]+ +[\d.]+$/m)
    assert.match(human.stderr, /^recorder CPU while recording \(all its threads\): user \d+ ms, system \d+ ms$/m)
    assert.doesNotMatch(eyrie(['record', '--', 'true'], { journal, cwd: dir }).stderr, /entries/, 'only when asked')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('given record --scan --stats, the questions the scanner answered are counted, and the ones the tracer answered with a lent verdict', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eyrie-stats-scan-'))
  try {
    const journal = join(dir, 'journal')
    const cache = join(dir, 'verdicts')
    const run = () => eyrie(['--json', 'record', '--scan', '--stats', '--signatures', SIGNATURES, '--verdict-cache', cache, '--', 'sh', '-c', '/bin/true; /bin/true'], { journal, cwd: dir })
    const first = run()
    assert.equal(first.status, 0, first.stderr)
    const s = statsOf(first.stderr)
    assert.ok(s.questions >= 1 && s.questionNs > 0, JSON.stringify(s))
    // the second exec of /bin/true in the same run: the verdict lent after the first answers it
    assert.ok(s.loans >= 1, `loans: ${s.loans}`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('given record --scan-all, opens of names that are not there or are no regular file are not asked about', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eyrie-stats-scanall-'))
  try {
    const journal = join(dir, 'journal')
    const questions = (script: string): number => {
      const r = eyrie(['--json', 'record', '--scan-all', '--stats', '--signatures', SIGNATURES, '--verdict-cache', 'none', '--', 'sh', '-c', script], { journal, cwd: dir })
      assert.equal(r.status, 0, r.stderr)
      return statsOf(r.stderr).questions
    }
    // the same execs and the same regular file read; the second also reads missing names (a
    // compiler probing include directories) and a device
    const plain = questions('cat /etc/hostname > /dev/null 2>&1; true')
    const probing = questions('cat /nope1 /etc/hostname /nope2/x /dev/null > /dev/null 2>&1; true')
    assert.ok(plain >= 2, `the execs and the file are asked about: ${plain}`)
    assert.equal(probing, plain, 'no question for a missing name or a device')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
