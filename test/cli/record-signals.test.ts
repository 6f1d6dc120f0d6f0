// `eyrie record` and signals, as strace treats them with a command: ^C at the terminal goes to the
// whole foreground process group; the command handles it its own way and eyrie records on until it
// exits. SIGTERM sent to eyrie alone is passed on to the command. Before, eyrie died at once and
// took the command with it (PTRACE_O_EXITKILL), whatever the command meant to do with the signal.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { eyrie, testEnv } from '../support/cli.js'
import { SIGNATURES } from '../scanner/support.js'

const BIN = fileURLToPath(new URL('../../bin/eyrie.js', import.meta.url))

/** eyrie record as the leader of its own process group (a terminal's foreground job). */
const recordJob = (dir: string, extra: string[], script: string) => {
  const child = spawn(process.execPath, [BIN, '--journal', join(dir, 'journal'), 'record', ...extra, '--', 'sh', '-c', script], { cwd: dir, detached: true, env: testEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)))
  return { pid: child.pid ?? 0, exited, stderr: () => stderr }
}

/** Waits until the command wrote `ready` (its trap is set). */
const ready = async (dir: string): Promise<void> => {
  for (let i = 0; i < 200 && !existsSync(join(dir, 'ready')); i++) await sleep(25)
  assert.ok(existsSync(join(dir, 'ready')), 'the command started')
}

const TRAPPING = (sig: string) => `trap 'echo caught >> out' ${sig}; echo > ready; i=0; while [ $i -lt 40 ] && [ ! -s out ]; do sleep 0.05; i=$((i+1)); done; echo after >> out; exit 7`

test('given a command that handles SIGINT, when ^C reaches the job (the process group), then the command handles it and goes on, eyrie records to its end and exits with its status', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eyrie-sigint-'))
  try {
    const job = recordJob(dir, [], TRAPPING('INT'))
    await ready(dir)
    process.kill(-job.pid, 'SIGINT')
    assert.equal(await job.exited, 7, job.stderr())
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'caught\nafter\n')
    const cat = eyrie(['at', 'end', 'cat', join(dir, 'out')], { journal: join(dir, 'journal') })
    assert.equal(cat.stdout, 'caught\nafter\n', 'what the command wrote after the signal is journaled')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('given a command that handles SIGTERM, when SIGTERM is sent to eyrie alone, then it is passed on to the command, which ends its own way', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eyrie-sigterm-'))
  try {
    const job = recordJob(dir, [], TRAPPING('TERM'))
    await ready(dir)
    process.kill(job.pid, 'SIGTERM')
    assert.equal(await job.exited, 7, job.stderr())
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'caught\nafter\n')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('given record --scan with a private clamd, when ^C reaches the job, then clamd (in its own process group) goes on judging: an exec after the signal is scanned, not denied for a dead scanner', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'eyrie-sigint-scan-'))
  try {
    const job = recordJob(dir, ['--scan', '--signatures', SIGNATURES, '--verdict-cache', 'none'], `${TRAPPING('INT').replace('; exit 7', '')}; /bin/true && echo ran >> out`)
    await ready(dir)
    process.kill(-job.pid, 'SIGINT')
    assert.equal(await job.exited, 0, job.stderr())
    assert.equal(await readFile(join(dir, 'out'), 'utf8'), 'caught\nafter\nran\n')
    const denied = eyrie(['log', '--kind', 'access.denied', '--json'], { journal: join(dir, 'journal') })
    assert.equal(denied.stdout, '', 'nothing denied')
    const verdicts = eyrie(['log', '--kind', 'scan.verdict', '--json'], { journal: join(dir, 'journal') }).stdout.trim().split('\n').map((l) => JSON.parse(l) as { path: string; verdict: string })
    assert.ok(verdicts.some((v) => v.path.endsWith('/true') && v.verdict === 'clean'), JSON.stringify(verdicts))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
