// Real programs under real strace: the drafts must say what the programs did. (Byte-exact file
// content at every step is the end-to-end tests' job; here: bytes written, paths, pids and tids.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Draft } from '../../src/events/index.js'
import { STRACE_CALLS, parseStrace, readLogLines, straceArgv } from '../../src/import/strace/index.js'
import { runUnderStrace } from './strace-run.js'
import { compile } from '../native/support.js'

interface Run { dir: string; drafts: Draft[] }

const traced = async (cmd: (dir: string) => string[], setup?: (dir: string) => Promise<void>): Promise<Run> => {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'eyrie-strace-real-')))
  await setup?.(dir)
  const { log, status } = await runUnderStrace(cmd(dir), { cwd: dir })
  try {
    assert.equal(status, 0, 'the traced program failed')
    const drafts: Draft[] = []
    for await (const p of parseStrace(readLogLines(log), { cwd: dir })) {
      if ('error' in p) assert.fail(`${log}:${p.line}: ${p.error}`)
      drafts.push(...p.drafts)
    }
    return { dir, drafts }
  } finally {
    await rm(log, { force: true })
  }
}

interface Write { readonly path: string; readonly pid: number; readonly tid: number; readonly offset: number | null; readonly len: number; readonly data: string }

/** The writes with the path their fd was opened with, following fd tables through dup and fork
 *  (threads share their process's table, keyed by pid). */
const writesOf = (drafts: readonly Draft[]): Write[] => {
  const tables = new Map<number, Map<number, string>>()
  const table = (pid: number) => {
    let t = tables.get(pid)
    if (t === undefined) tables.set(pid, (t = new Map()))
    return t
  }
  const out: Write[] = []
  for (const d of drafts) {
    const b = d.body
    const t = table(d.pid)
    if (b.kind === 'fd.open') t.set(b.fd, b.path)
    else if (b.kind === 'fd.close') t.delete(b.fd)
    else if (b.kind === 'fd.dup') {
      const p = t.get(b.fd)
      if (p === undefined) t.delete(b.newFd)
      else t.set(b.newFd, p)
    } else if (b.kind === 'proc.spawn' && !b.thread) tables.set(b.child, new Map(t))
    else if (b.kind === 'file.write') {
      out.push({ path: t.get(b.fd) ?? `?fd${b.fd}`, pid: d.pid, tid: d.tid, offset: b.offset, len: b.len, data: Buffer.from(d.data ?? []).toString('latin1') })
    }
  }
  return out
}

const pathsOf = (drafts: readonly Draft[]): string[] =>
  drafts.flatMap((d) => {
    const b = d.body
    switch (b.kind) {
      case 'fd.open': case 'file.unlink': case 'file.mkdir': case 'file.rmdir': case 'proc.chdir': case 'proc.exec': case 'view.map': case 'file.symlink':
        return [b.path]
      case 'file.truncate':
        return b.path === null ? [] : [b.path]
      case 'file.rename': case 'file.link':
        return [b.from, b.to]
      default:
        return []
    }
  })

const SCRIPT = `
set -e
printf 'hello\\n' > a
printf 'more\\n' >> a
printf 'over' > b
printf 'xxxxxxxx' > c
: > b
truncate -s 3 c
mkdir -p d/e
mv a d/e/moved
ln d/e/moved hard
ln -s d/e/moved soft
printf 'ZZ' | dd of=c bs=1 seek=1 conv=notrunc status=none
cp hard copy
cd d
printf 'rel' > ./e/../../inner
rm ../hard
`

test('given a shell script under strace, when its log is parsed, then writes carry the bytes written and paths are absolute and canonical', async () => {
  const run = await traced(() => ['/bin/sh', '-c', SCRIPT])
  try {
    const { dir, drafts } = run
    const writes = writesOf(drafts).filter((w) => w.path.startsWith(dir))
    const w = (name: string) => writes.filter((x) => x.path === join(dir, name)).map((x) => [x.offset, x.len, x.data])
    assert.deepEqual(w('a'), [[null, 6, 'hello\n'], [null, 5, 'more\n']])
    assert.deepEqual(w('b'), [[null, 4, 'over']])
    assert.deepEqual(w('c'), [[null, 8, 'xxxxxxxx'], [null, 1, 'Z'], [null, 1, 'Z']])
    assert.deepEqual(w('inner'), [[null, 3, 'rel']])
    // cp copies inside the kernel (copy_file_range): the length is known, the bytes are not.
    const copy = writes.filter((x) => x.path === join(dir, 'copy'))
    assert.ok(copy.length >= 1 && copy.reduce((n, x) => n + x.len, 0) === 11, JSON.stringify(copy))
    assert.equal(await readFile(join(dir, 'copy'), 'latin1'), 'hello\nmore\n')

    const bodies = drafts.map((d) => d.body)
    assert.ok(bodies.some((b) => b.kind === 'fd.open' && b.path === join(dir, 'a') && (b.flags & 0o2000) !== 0), 'the append opens with O_APPEND')
    assert.ok(bodies.some((b) => b.kind === 'fd.seek' && b.pos === 1), 'dd seeks to 1 before writing')
    assert.ok(bodies.some((b) => b.kind === 'file.truncate' && b.size === 3), 'truncate -s 3')
    assert.ok(bodies.some((b) => b.kind === 'file.mkdir' && b.path === join(dir, 'd/e')))
    assert.ok(bodies.some((b) => b.kind === 'file.rename' && b.from === join(dir, 'a') && b.to === join(dir, 'd/e/moved')))
    assert.ok(bodies.some((b) => b.kind === 'file.link' && b.from === join(dir, 'd/e/moved') && b.to === join(dir, 'hard')))
    assert.ok(bodies.some((b) => b.kind === 'file.symlink' && b.target === 'd/e/moved' && b.path === join(dir, 'soft')))
    assert.ok(bodies.some((b) => b.kind === 'file.unlink' && b.path === join(dir, 'hard')))
    assert.ok(bodies.some((b) => b.kind === 'proc.chdir' && b.path === join(dir, 'd')))
    for (const p of pathsOf(drafts)) assert.match(p, /^\/(?!.*\/\.{1,2}(\/|$))(?!.*\/\/)/, `not canonical: ${p}`)
    // Every program the script ran was spawned before it ran.
    const spawned = new Set(drafts.flatMap((d) => (d.body.kind === 'proc.spawn' ? [d.body.child] : [])))
    const root = drafts[0].pid
    for (const d of drafts) assert.ok(d.pid === root || spawned.has(d.pid), `pid ${d.pid} was never spawned`)
  } finally {
    await rm(run.dir, { recursive: true, force: true })
  }
})

const PROGRAM = `
import os, threading
def work():
    with open("from-thread", "wb") as f:
        f.write(b"thread:" + str(threading.get_native_id()).encode())
t = threading.Thread(target=work); t.start(); t.join()
pid = os.fork()
if pid == 0:
    with open("from-child", "wb") as f:
        f.write(b"child:" + str(os.getpid()).encode())
    os._exit(0)
os.waitpid(pid, 0)
fd = os.open("from-main", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.pwrite(fd, b"\\x00\\xffmain", 0)
os.close(fd)
`

test('given a python program with a thread and a fork, when its log is parsed, then pids and tids say who wrote what', async () => {
  const run = await traced(() => ['/usr/bin/python3', '-S', 'prog.py'], (dir) => writeFile(join(dir, 'prog.py'), PROGRAM))
  try {
    const { dir, drafts } = run
    const writes = writesOf(drafts)
    const one = (name: string) => {
      const hits = writes.filter((w) => w.path === join(dir, name))
      assert.equal(hits.length, 1, `${name}: ${JSON.stringify(writes)}`)
      return hits[0]
    }
    const main = one('from-main')
    assert.equal(main.tid, main.pid)
    assert.deepEqual([main.offset, main.data], [0, '\x00\xffmain'])

    const thread = one('from-thread')
    assert.equal(thread.pid, main.pid, 'a thread writes as its process')
    assert.notEqual(thread.tid, thread.pid)
    assert.equal(thread.data, `thread:${thread.tid}`)
    assert.ok(drafts.some((d) => d.pid === main.pid && d.body.kind === 'proc.spawn' && d.body.child === thread.tid && d.body.thread && d.body.shareFiles))
    assert.ok(drafts.some((d) => d.tid === thread.tid && d.body.kind === 'proc.exit' && d.body.thread))

    const child = one('from-child')
    assert.equal(child.tid, child.pid, 'a forked child is its own process')
    assert.notEqual(child.pid, main.pid)
    assert.equal(child.data, `child:${child.pid}`)
    assert.ok(drafts.some((d) => d.pid === main.pid && d.body.kind === 'proc.spawn' && d.body.child === child.pid && !d.body.thread && !d.body.shareFiles))
    assert.ok(drafts.some((d) => d.pid === child.pid && d.body.kind === 'proc.exit' && d.body.status === 0 && !d.body.thread))
    assert.equal(await readFile(join(dir, 'from-child'), 'latin1'), child.data)
  } finally {
    await rm(run.dir, { recursive: true, force: true })
  }
})

test('given a program writing through io_uring (test/native/uring.c), then the importer reports the parent at setup and the child at its first enter, and neither write is a draft', async () => {
  const program = await compile('uring')
  const run = await traced((dir) => [program, 'write', join(dir, 'out'), 'ring\n'])
  try {
    const { dir, drafts } = run
    const main = drafts[0].pid
    const child = drafts.find((d) => d.body.kind === 'proc.spawn' && d.pid === main)
    assert.ok(child !== undefined && child.body.kind === 'proc.spawn')
    const rings = drafts.flatMap((d) => (d.body.kind === 'proc.ioUring' ? [[d.pid, d.body.via, d.body.fd]] : []))
    assert.deepEqual(rings, [[main, 'setup', 4], [child.body.child, 'enter', 4]])
    assert.deepEqual(writesOf(drafts).filter((w) => w.path === join(dir, 'out')), [])
    assert.equal(await readFile(join(dir, 'out'), 'latin1'), 'ring\nring\n')
  } finally {
    await rm(run.dir, { recursive: true, force: true })
  }
})

test('given the call list, when this machine\'s strace is asked for each name, then it knows all of them', () => {
  const unknown = STRACE_CALLS.filter((call) => {
    try {
      execFileSync('strace', ['-o', '/dev/null', '-e', `trace=${call}`, 'true'], { stdio: 'pipe' })
      return false
    } catch {
      return true
    }
  })
  assert.deepEqual(unknown, [])
})

test('given a log file and a command, then the argv is the one strace line the parser reads', () => {
  assert.deepEqual(straceArgv('/tmp/x.log', ['-weird', 'arg']), [
    'strace', '-f', '-ttt', '-xx', '-y', '-s', '1048576', '-o', '/tmp/x.log', '-e', `trace=${STRACE_CALLS.join(',')}`, '--', '-weird', 'arg',
  ])
})
