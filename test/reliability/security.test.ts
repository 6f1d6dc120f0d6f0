// What the journal exposes and what guests can make eyrie do: journal modes under a permissive umask,
// attach refusals as an unprivileged user, no shell anywhere a guest-controlled string could reach,
// hostile file names through recording, scanning, quarantine and export, and what a tracee sees.
// (LMDB modes with the default umask: test/journal/lmdb.test.ts; quarantine modes: test/scanner/;
// export escapes through `..` and symlinks: test/forensic/escape.test.ts.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { eyrie } from '../support/cli.js'
import { MARKER, SIGNATURES } from '../scanner/support.js'
import { BIN, tempDir } from './support.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

test('given a umask of 000, when `eyrie record` creates a journal, then its directories are 0700 and its files 0600', async () => {
  const { dir, cleanup } = await tempDir('umask')
  try {
    const journal = join(dir, 'journal')
    const r = spawnSync('sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, BIN, '--journal', journal, 'record', '--', 'sh', '-c', 'echo x > f'], { cwd: dir, encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    // every directory of the journal 0700, every file 0600, however deep (blob segments live in blobs/)
    const check = (path: string): number => {
      const st = statSync(path)
      if (!st.isDirectory()) {
        assert.equal(st.mode & 0o777, 0o600, path)
        return 1
      }
      assert.equal(st.mode & 0o777, 0o700, path)
      return readdirSync(path).reduce((n, f) => n + check(join(path, f)), 0)
    }
    assert.ok(check(journal) >= 2, 'the journal has files to check')
  } finally {
    await cleanup()
  }
})

test('given a root-owned process, when an unprivileged user runs `eyrie attach` on it, then exit 1 with one line saying whose process it is, and no guest is journaled', async () => {
  const { dir, cleanup } = await tempDir('attach-eperm')
  const target = spawn('sleep', ['60'], { stdio: 'ignore' })
  try {
    chmodSync(dir, 0o777)
    const journal = join(dir, 'journal')
    // Load eyrie (and its addon) as root, then drop to nobody: the checkout itself need not be
    // readable by nobody (CI clones into a 0700 directory). The command's module too: main loads it
    // when the command runs, so a refused pid (a usage error, stderr muted) runs it once as root.
    const asNobody = [
      `const { main } = await import(${JSON.stringify(join(ROOT, 'src/cli/main.ts'))})`,
      'const write = process.stderr.write; process.stderr.write = () => true',
      `if (await main(['node', 'eyrie', '--journal', ${JSON.stringify(journal)}, 'attach', '0']) !== 2) throw new Error('warm-up: expected a usage error')`,
      'process.stderr.write = write',
      `const { addon } = await import(${JSON.stringify(join(ROOT, 'src/native/binding.ts'))})`,
      'addon()',
      'process.setgroups([]); process.setgid(65534); process.setuid(65534)',
      `process.exitCode = await main(['node', 'eyrie', '--journal', ${JSON.stringify(journal)}, 'attach', '${target.pid}'])`,
    ].join('\n')
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', asNobody], { cwd: ROOT, encoding: 'utf8' })
    assert.equal(r.status, 1, r.stderr)
    assert.equal(r.stderr, `eyrie: cannot attach to process ${target.pid}: not permitted: it belongs to uid 0, eyrie runs as uid 65534 (attach as that user, or as root)\n`)
    assert.match(readFileSync(`/proc/${target.pid}/status`, 'utf8'), /^TracerPid:\s+0$/m, 'the target was not touched')
    const guests = eyrie(['guests', '--json'], { journal })
    assert.deepEqual(JSON.parse(guests.stdout), [])

    const gone = spawnSync(process.execPath, [BIN, '--journal', journal, 'attach', '2147483646'], { encoding: 'utf8' })
    assert.equal(gone.status, 1)
    assert.equal(gone.stderr, 'eyrie: cannot attach to process 2147483646: no such process\n')
    const bad = spawnSync(process.execPath, [BIN, '--journal', journal, 'attach', '12x'], { encoding: 'utf8' })
    assert.equal(bad.status, 2)
  } finally {
    target.kill('SIGKILL')
    await cleanup()
  }
})

test('given a running loop, when root attaches and then sends SIGINT, then its writes are journaled, eyrie exits 0 and the loop runs on untraced', async () => {
  const { dir, cleanup } = await tempDir('attach-ok')
  // orphaned, so that it is not a child of this process (see attachPid)
  const bg = spawnSync('sh', ['-c', 'sh -c "while :; do echo tick >> ticks; sleep 0.05; done" >/dev/null 2>&1 </dev/null & echo $!'], { cwd: dir, encoding: 'utf8' })
  const pid = Number(bg.stdout)
  try {
    const journal = join(dir, 'journal')
    const rec = spawn(process.execPath, [BIN, '--journal', journal, '--guest', 'attached', 'attach', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    rec.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
    const exited = new Promise<number | null>((res) => rec.once('exit', (code) => res(code)))
    const deadline = Date.now() + 30_000
    while (!/^TracerPid:\s+[1-9]/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')) && Date.now() < deadline) await sleep(20)
    await sleep(500)
    rec.kill('SIGINT')
    assert.equal(await exited, 0, stderr)
    assert.match(stderr, new RegExp(`detached on SIGINT; process ${pid} runs on`))
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^TracerPid:\s+0$/m)
    assert.notEqual(/^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1], 'T', 'not left stopped')
    const log = eyrie(['--guest', 'attached', 'log', '--kind', 'file.write', '--json'], { journal })
    assert.ok(log.stdout.split('\n').some((l) => l.includes(join(dir, 'ticks'))), 'the loop\'s writes are journaled')
    assert.equal(eyrie(['verify'], { journal }).status, 0)
  } finally {
    process.kill(pid, 'SIGKILL')
    await cleanup()
  }
})

/** Source files of eyrie that could run a program. */
const sources = (dir: string, exts: RegExp): string[] => {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...sources(p, exts))
    else if (exts.test(e.name)) out.push(p)
  }
  return out
}

test('given eyrie\'s shipped sources, then no shell is ever spawned: no module starts programs through child_process (the private clamd starts by argv in the addon), never exec/execSync or shell: true; the addon execs only the traced command\'s argv and clamd\'s', () => {
  const ts = [...sources(join(ROOT, 'src'), /\.ts$/), join(ROOT, 'bin', 'eyrie.js')]
  const spawners = ts.filter((f) => /from 'node:child_process'|require\('child_process'\)|from 'child_process'/.test(readFileSync(f, 'utf8'))).map((f) => relative(ROOT, f))
  assert.deepEqual(spawners, [], 'the modules that start programs through child_process')
  for (const f of ts) {
    const text = readFileSync(f, 'utf8')
    assert.doesNotMatch(text, /shell:\s*true|\bexecSync\(|\bexecFileSync\([^)]*shell|child_process'\)\.exec\b|import \{[^}]*\bexec\b[^}]*\} from 'node:child_process'/, relative(ROOT, f))
  }
  for (const f of sources(join(ROOT, 'src', 'native'), /\.(cc|h)$/)) {
    const text = readFileSync(f, 'utf8')
    assert.doesNotMatch(text, /\b(system|popen|execl|execlp|execvp)\s*\(|"\/bin\/sh"/, relative(ROOT, f))
    const code = text.replace(/\/\/.*$/gm, '')
    if (/\b(execve|posix_spawnp?)\s*\(/.test(code.replace(/SYS_execve/g, ''))) assert.ok(['src/native/spawn.cc', 'src/native/daemon.cc'].includes(relative(ROOT, f)), `${relative(ROOT, f)}: execve only where the traced command and the private clamd start`)
  }
})

test('given files named with shell syntax, a newline and bytes that are not UTF-8, when recorded with --scan and exported, then no name is ever run, the infected one is quarantined, and the export stays inside its target', async () => {
  const { dir, cleanup } = await tempDir('names')
  try {
    const work = join(dir, 'work')
    const journal = join(dir, 'journal')
    spawnSync('mkdir', [work])
    const evil = '$(touch PWNED);`touch PWNED2`.sh'
    // the guest writes: a script with the test marker under a shell-syntax name, a name with a
    // newline, a name with the byte 0xff, and runs nothing but printf
    const script = [
      `printf '#!/bin/sh\\necho %s\\n' '${MARKER}' > '${evil}'`,
      "printf 'two\\nlines' > \"$(printf 'a\\nb.txt')\"",
      "printf 'latin' > \"$(printf 'caf\\351.txt')\"",
      'echo done',
    ].join('; ')
    const r = eyrie(['record', '--guest', 'names', '--scan', '--signatures', SIGNATURES, '--', 'sh', '-c', script], { journal, cwd: work })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(existsSync(join(work, 'PWNED')) || existsSync(join(work, 'PWNED2')) || existsSync(join(dir, 'PWNED')), false, 'no guest-chosen name was run by a shell')
    assert.equal(existsSync(join(work, evil)), false, 'the infected script was quarantined')
    const q: { records: Array<{ path: string }> } = JSON.parse(eyrie(['quarantine', 'list', '--json'], { journal }).stdout)
    assert.deepEqual(q.records.map((x) => x.path), [join(work, evil)])

    const out = join(dir, 'export')
    const ex = eyrie(['--guest', 'names', 'export', '--at', 'end', '--under', work, out], { journal })
    assert.equal(ex.status, 0, ex.stderr)
    const exported = sources(out, /./).map((f) => relative(out, f))
    for (const f of exported) assert.ok(!f.startsWith('..'), f)
    const root = join(out, 'root', relative('/', work))
    assert.equal(readFileSync(join(root, 'a\nb.txt'), 'utf8'), 'two\nlines', 'a newline in a name survives')
    // a name that is not UTF-8 comes out as the bytes the guest used (docs/security.md, names)
    assert.equal(readFileSync(Buffer.from(join(root, 'caf\xe9.txt'), 'latin1'), 'utf8'), 'latin')
    assert.equal(existsSync(join(root, 'caf\ufffd.txt')), false)
    assert.ok(!existsSync(join(dir, 'PWNED')) && !existsSync(join(out, 'PWNED')))
  } finally {
    await cleanup()
  }
})

test('given a recorded program, when it reads /proc/self/status, then it sees the recorder as its tracer (what docs/security.md says a tracee can tell)', async () => {
  const { dir, cleanup } = await tempDir('tracerpid')
  try {
    const journal = join(dir, 'journal')
    const r = eyrie(['record', '--', 'sh', '-c', 'grep TracerPid /proc/self/status > seen.txt'], { journal, cwd: dir })
    assert.equal(r.status, 0, r.stderr)
    assert.match(readFileSync(join(dir, 'seen.txt'), 'utf8'), /^TracerPid:\s+[1-9]\d*\n$/)
  } finally {
    await cleanup()
  }
})
