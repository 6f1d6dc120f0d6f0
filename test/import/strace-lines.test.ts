// Line shapes: timestamps, unfinished/resumed pairs, signals, restarts, and what a bad line yields.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { at, draftsOf, errorsOf, fdp, parseAll, str, T0 } from './strace-support.js'

const F = fdp(3, '/w/a')

test('given -ttt timestamps, then ts is seconds * 1e9 + micros * 1e3 in nanoseconds', async () => {
  const d = await draftsOf([`7 1795449767.036074 fsync(${F}) = 0`])
  assert.equal(d[0].ts, 1795449767_036074_000n)
})

test('given unfinished calls of two tasks interleaved, then each joins its own half and keeps its start time', async () => {
  const out = await parseAll([
    at(10, `write(${F}, ${str('AAAA')}, 4 <unfinished ...>`, 1700000000, 1),
    at(11, `read(${fdp(4, '/w/b')},  <unfinished ...>`, 1700000000, 2),
    at(10, '<... write resumed>) = 4', 1700000000, 3),
    at(11, `<... read resumed>${str('xy')}, 4096) = 2`, 1700000000, 4),
  ])
  assert.deepEqual(out.map((p) => ('drafts' in p ? p.drafts.map((d) => [d.tid, d.ts - T0, d.body.kind]) : p.error)), [
    [], [], [[10, 1000n, 'file.write']], [[11, 2000n, 'fd.read']],
  ])
})

test('given a clone split around another task\'s lines, then the flags from the first half decide', async () => {
  const d = await draftsOf([
    at(10, 'clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>'),
    at(12, 'exit(0) = ?'),
    at(10, '<... clone resumed>, child_tidptr=0x7f63cfc6be50) = 11'),
  ])
  assert.deepEqual(d.map((x) => x.body), [{ kind: 'proc.spawn', child: 11, thread: false, shareFiles: false }])
})

test('given signals, stops and restarted calls, then they yield no drafts and no errors', async () => {
  const out = await parseAll([
    at(10, '--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=5043, si_uid=0, si_status=7, si_utime=0, si_stime=0} ---'),
    at(10, '--- stopped by SIGSTOP ---'),
    at(10, `read(${F},  <unfinished ...>`),
    at(10, '<... read resumed>0x7ffd, 4096) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)'),
    at(10, `write(${F}, ${str('x')}, 1) = ? <unavailable>`),
  ])
  assert.deepEqual(out, [1, 2, 3, 4, 5].map((line) => ({ line, drafts: [] })))
})

test('given a blank line and a [pid N] prefix, then the blank is skipped and the prefix understood', async () => {
  const out = await parseAll(['', `[pid  10] 1700000000.000000 fsync(${F}) = 0`])
  assert.deepEqual(out.map((p) => ('drafts' in p ? [p.line, p.drafts[0].tid] : p.error)), [[2, 10]])
})

test('given malformed lines among good ones, then each bad line yields exactly one error and parsing goes on', async () => {
  const good = at(10, `fsync(${F}) = 0`)
  const errors = await errorsOf([
    'garbage that is not strace',
    good,
    at(10, `openat(AT_FDCWD, "\\x2f\\x74`),
    at(10, `openat(AT_FDCWD, "\\x2f\\x74, O_RDONLY) = 3`),
    at(10, 'newfstatat(AT_FDCWD, "", {st_mode=S_IFDIR|0755, st_size=4096, ...}, AT_EMPTY_PATH) = 0'),
    at(10, `write(${F}, ${str('x')}, 1x) = 1`),
    at(10, `write(${F}, ${str('x')}, 1)`),
    at(10, '<... write resumed>) = 1'),
    at(10, `ftruncate(${F}, 10) = zero`),
    at(10, `openat(AT_FDCWD, ${str('a')}, O_RDONLY|O_BOGUS) = 3`),
    at(10, '+++ exited sideways +++'),
    at(10, '+++ exited with 11111111111111111111100 +++'),
    good,
  ])
  assert.deepEqual(errors, [
    { line: 1, error: 'expected "PID SECONDS.MICROS" at the start of the line, got garbage that is not strace' },
    { line: 3, error: 'unbalanced quotes in arguments of openat' },
    { line: 4, error: 'unbalanced quotes in arguments of openat' },
    { line: 5, error: 'unknown system call newfstatat' },
    { line: 6, error: 'bad number 1x in argument 3 of write' },
    { line: 7, error: 'missing return value of write' },
    { line: 8, error: 'write resumed without an unfinished write' },
    { line: 9, error: 'bad return value zero of ftruncate' },
    { line: 10, error: 'unknown flag O_BOGUS in argument 3 of openat' },
    { line: 11, error: 'unknown exit line +++ exited sideways +++' },
    { line: 12, error: 'exit status 11111111111111111111100 out of range 0..255' },
  ])
  const out = await parseAll(['garbage', good, at(10, 'write('), good])
  assert.deepEqual(out.map((p) => ('drafts' in p ? [p.line, p.drafts.length] : [p.line, 'error'])), [[1, 'error'], [2, 1], [3, 'error'], [4, 1]])
})

test('given a line cut in the middle of its arguments, then the error says what is missing', async () => {
  const errors = await errorsOf([at(10, `mmap(NULL, 4096, PROT_READ, MAP_SHARED, ${F}`), at(10, 'writev(3, [{iov_base="", iov_len=0}')])
  assert.deepEqual(errors, [
    { line: 1, error: "missing ')' in arguments of mmap" },
    { line: 2, error: "missing ']' in arguments of writev" },
  ])
})

test('given a relative path against a dirfd that -y did not decorate, then the error names the fd', async () => {
  const errors = await errorsOf([at(10, `unlinkat(5, ${str('x')}, 0) = 0`)])
  assert.deepEqual(errors, [{ line: 1, error: 'cannot resolve "x": fd 5 shows no directory path' }])
})
