// The --stats table: calls by the tracer's time, events after them, a total; calls outside the
// tracer's table (attach stops at every call) named from the kernel's header when it is there.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toJson } from '../../src/cli/output.js'
import { formatStopStats, stopStatsIn, stopTotals, syscallNames } from '../../src/cli/stopStats.js'

const STATS = {
  calls: [
    { nr: 257, name: 'openat', entries: 3, exits: 3, ns: 60_000 },
    { nr: 262, name: 'syscall 262', entries: 2, exits: 2, ns: 8_000 },
  ],
  events: [{ name: 'exec', stops: 1, ns: 100_000 }],
  questions: 0, questionNs: 0, loans: 0,
}

test('given stop statistics, the table lists calls by time, then events, then the total; unnamed calls get the header\'s name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eyrie-unistd-'))
  try {
    const header = join(dir, 'unistd_64.h')
    writeFileSync(header, '#ifndef _ASM_UNISTD_64_H\n#define __NR_read 0\n#define __NR_newfstatat 262\n#endif\n')
    const names = syscallNames(header)
    assert.equal(names.get(262), 'newfstatat')
    const lines = formatStopStats(STATS, names).split('\n')
    assert.match(lines[0], /^call +entries +exits +tracer ms +µs\/stop$/)
    assert.match(lines[1], /^openat +3 +3 +0\.1 +10\.0$/)
    assert.match(lines[2], /^newfstatat +2 +2 +0\.0 +2\.0$/)
    assert.match(lines[3], /^\(exec\) +1 +0\.1 +100\.0$/)
    assert.match(lines[4], /^total +11 +0\.2 +15\.3$/)
    assert.equal(lines.length, 5, 'no questions line without questions')
    assert.match(formatStopStats(STATS).split('\n')[2], /^syscall 262 /, 'without names: as the tracer said')
    assert.equal(syscallNames(join(dir, 'missing.h')).size, 0)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('given this machine\'s kernel header, newfstatat is 262 on x86_64', { skip: existsSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h') ? false : 'no linux-libc-dev' }, () => {
  assert.equal(syscallNames().get(262), 'newfstatat')
  assert.equal(syscallNames().get(257), 'openat')
})

test('given stderr of --json record --stats, the statistics are read back as printed, and totals sum calls and events', () => {
  const stderr = `eyrie: guest g: 3 events, 0 bytes written, 0.01 s\n${toJson({ stopStats: STATS })}\n`
  assert.deepEqual(stopStatsIn(stderr), STATS)
  assert.equal(stopStatsIn('eyrie: guest g: 3 events, 0 bytes written, 0.01 s\n'), null)
  assert.throws(() => stopStatsIn(`${toJson({ stopStats: { calls: 'none' } })}\n`), /do not decode/)
  assert.deepEqual(stopTotals(STATS), { stops: 11, ns: 168_000 })
})
