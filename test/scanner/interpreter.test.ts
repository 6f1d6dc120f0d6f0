// The ELF interpreter (PT_INTERP) of a program the guest runs: the kernel loads it with the program,
// by no call, so `record --scan` judges it with each exec, a verdict the tracer reuses included. An
// exec the tracer let through by the program's loan (or by a verdict kept from an earlier run) ran an
// interpreter changed since it was judged: now that loan holds only while the interpreter's does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { appendFile, copyFile, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { eyrie } from '../support/cli.js'
import { SIGNATURES, MARKER, tmp } from './support.js'

const LD_SO = '/lib64/ld-linux-x86-64.so.2'

const logKinds = (journal: string, kind: string) =>
  eyrie(['log', '--kind', kind, '--json'], { journal }).stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))

/** dir/prog: /usr/bin/true naming `interp` as its interpreter (no longer than the usual name), and
 *  dir/ld.so a copy of the real one, reached by that name. */
const programNaming = async (dir: string, interp: string): Promise<void> => {
  await copyFile(LD_SO, join(dir, 'ld.so'))
  const prog = Buffer.from(await readFile('/usr/bin/true'))
  const at = prog.indexOf(`${LD_SO}\0`)
  assert.ok(at > 0 && interp.length <= LD_SO.length, 'true names the usual interpreter')
  prog.fill(0, at, at + LD_SO.length).write(interp, at, 'latin1')
  await writeFile(join(dir, 'prog'), prog, { mode: 0o755 })
}

/** An absolute interpreter name short enough for PT_INTERP: a link to dir/ld.so, gone after `f`. */
const withShortName = async (dir: string, f: (ld: string) => Promise<void>): Promise<void> => {
  const ld = `/tmp/ld-${process.pid}.so`
  await rm(ld, { force: true })
  await symlink(join(dir, 'ld.so'), ld)
  try {
    await f(ld)
  } finally {
    await rm(ld, { force: true })
  }
}

test('given a program whose ELF interpreter holds the marker, its exec fails with EACCES and the interpreter is quarantined; with the real one it runs', async () => {
  // relative (the kernel takes it from the cwd); both made before the recording
  for (const marked of [true, false]) {
    const dir = await tmp('interp-own')
    try {
      await programNaming(dir, 'ld.so')
      if (marked) await appendFile(join(dir, 'ld.so'), MARKER)
      const journal = join(dir, 'journal')
      const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'sh', '-c', './prog; echo status=$?'], { journal, cwd: dir })
      assert.equal(r.status, 0, r.stderr)
      assert.match(r.stdout, marked ? /status=126/ : /status=0/)
      if (!marked) continue
      // one line says what the guest met, and where the file went
      assert.match(r.stderr, /^eyrie: .*\/prog: interpreter .*\/ld\.so: infected \(Eyrie\.Test\.Marker[^)]*\); exec denied, quarantined as q-/m)
      assert.ok(logKinds(journal, 'scan.verdict').some((v) => v.verdict === 'infected' && v.path === join(dir, 'ld.so')), 'the interpreter judged, by its canonical name')
      assert.equal(existsSync(join(dir, 'ld.so')), false, 'quarantined')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
})

test('given a program run and let through again by the tracer, when another process appends the marker to its interpreter, then the next exec fails with EACCES', async () => {
  const dir = await tmp('interp-loan')
  try {
    await withShortName(dir, async (ld) => {
      await programNaming(dir, ld)
      // untraced: the change comes from outside the recording, between the second exec and the third
      const outside = spawn('sh', ['-c', `while [ ! -e ran ]; do sleep 0.02; done; printf '${MARKER}' >> ld.so; touch changed`], { cwd: dir, stdio: 'ignore' })
      const exited = new Promise((res) => outside.once('exit', res))
      const journal = join(dir, 'journal')
      const script = './prog; ./prog; echo first=$?; touch ran; while [ ! -e changed ]; do sleep 0.02; done; ./prog; echo second=$?'
      const r = eyrie(['record', '--scan', '--signatures', SIGNATURES, '--', 'sh', '-c', script], { journal, cwd: dir })
      await exited
      assert.equal(r.status, 0, r.stderr)
      assert.match(r.stdout, /first=0/)
      assert.match(r.stdout, /second=126/)
      assert.ok(Number(/(\d+) more reused by the tracer/.exec(r.stderr)?.[1] ?? 0) >= 1, r.stderr)
      const verdicts = logKinds(journal, 'scan.verdict').filter((v) => v.path === join(dir, 'ld.so')).map((v) => v.verdict)
      assert.deepEqual(verdicts.slice(0, 2), ['clean', 'clean'], 'the loan journaled the interpreter\'s verdict too')
      assert.equal(verdicts.at(-1), 'infected')
      assert.equal(existsSync(join(dir, 'ld.so')), false, 'the file the link reaches quarantined')
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('given verdicts kept from an earlier run, when the program\'s interpreter changed between the runs, then its exec is judged again and fails with EACCES', async () => {
  const dir = await tmp('interp-kept')
  try {
    await withShortName(dir, async (ld) => {
      await programNaming(dir, ld)
      const run = (n: number) =>
        eyrie(['--guest', `r${n}`, 'record', '--scan', '--signatures', SIGNATURES, '--verdict-cache', join(dir, 'verdicts'), '--', 'sh', '-c', './prog; echo status=$?'], { journal: join(dir, 'journal'), cwd: dir })
      const first = run(1)
      assert.match(first.stdout, /status=0/, first.stderr)
      const again = run(2)
      assert.match(again.stdout, /status=0/, again.stderr)
      assert.match(again.stderr, /known from earlier runs|reused by the tracer/, 'the second run reuses the first one\'s verdicts')
      await appendFile(join(dir, 'ld.so'), MARKER)
      const third = run(3)
      assert.match(third.stdout, /status=126/, third.stderr)
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
