// The clamonacc peer: ClamAV's on-access scanner with prevention (fanotify permission events: an open
// waits for clamd's verdict), run as PEERS.md describes: clamd as user clamav on the same signature
// databases eyrie's scanner uses, clamonacc as root with --fdpass and OnAccessExcludeUname clamav
// (so clamd's own reads are not scanned), watching one directory tree. Everything else is ClamAV's
// default (in particular OnAccessMaxFileSize: files over 5 MiB are let through unscanned).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { copyFileSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

export interface OnAccess {
  /** the watched tree: a run directory below it is scanned on access */
  readonly root: string
  /** clamd's and clamonacc's pids: their CPU time is part of what a watched run costs */
  readonly pids: readonly number[]
  /** resolves once prevention is active in each of `dirs` (a marker file there cannot be opened) */
  ready(dirs: readonly string[]): Promise<void>
  stop(): Promise<void>
}

/** The shipped test signatures' marker (test/fixtures/signatures/README.md), built from parts so that
 *  no file in the repository holds it. */
const MARKER = ['EYRIE-TEST', 'MARKER', '5e1f0c2a'].join('-')

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const userIds = (name: string): { uid: number; gid: number } | null => {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':')
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) }
  }
  return null
}

const which = (name: string): string | null => {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin'])) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name)
  }
  return null
}

const exited = (child: ChildProcess): Promise<void> =>
  new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res()
    child.once('exit', () => res())
  })

const stopChild = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited(child)
  clearTimeout(timer)
}

const blocked = (file: string): boolean => {
  try {
    closeSync(openSync(file, 'r'))
    return false
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'EPERM') return true
    throw err
  }
}

const tail = (file: string): string => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ')
  } catch (err) {
    return `(no log: ${err instanceof Error ? err.message : String(err)})`
  }
}

/**
 * Starts clamd and clamonacc watching `root` (created), or says why it cannot: not root, ClamAV not
 * installed, no clamav user, or prevention not taking effect (no fanotify permission events).
 */
export const startOnAccess = async (root: string, signatures: string): Promise<OnAccess | { why: string }> => {
  if (process.getuid?.() !== 0) return { why: 'clamonacc needs root (fanotify permission events)' }
  const clamd = which('clamd')
  const clamonacc = which('clamonacc')
  if (clamd === null || clamonacc === null) return { why: 'clamd/clamonacc not installed (Debian clamav-daemon)' }
  const clamav = userIds('clamav')
  if (clamav === null) return { why: 'no clamav user to run clamd as' }
  mkdirSync(root, { recursive: true })
  // clamd runs as clamav: its directory is clamav's and reachable from /tmp
  const dir = mkdtempSync(join(tmpdir(), 'eyrie-bench-clamd-'))
  mkdirSync(join(dir, 'db'))
  for (const n of readdirSync(signatures)) if (/\.(hdb|ndb|ldb|cvd|cld|hsb|mdb)$/.test(n)) copyFileSync(join(signatures, n), join(dir, 'db', n))
  const conf = join(dir, 'clamd.conf')
  writeFileSync(conf, [
    `LocalSocket ${join(dir, 'clamd.sock')}`,
    'LocalSocketMode 660',
    'FixStaleSocket yes',
    `DatabaseDirectory ${join(dir, 'db')}`,
    `TemporaryDirectory ${dir}`,
    `PidFile ${join(dir, 'clamd.pid')}`,
    `LogFile ${join(dir, 'clamd.log')}`,
    'User clamav',
    'Foreground yes',
    `OnAccessIncludePath ${root}`,
    'OnAccessPrevention yes',
    'OnAccessExcludeUname clamav',
    '',
  ].join('\n'))
  execFileSync('chown', ['-R', `${clamav.uid}:${clamav.gid}`, dir])
  chownSync(conf, 0, 0)
  const children: ChildProcess[] = []
  const killAll = () => {
    for (const c of children) c.kill('SIGTERM')
  }
  process.once('exit', killAll)
  const stop = async () => {
    process.removeListener('exit', killAll)
    for (const c of [...children].reverse()) await stopChild(c)
    rmSync(dir, { recursive: true, force: true })
  }
  const daemon = spawn(clamd, ['--config-file', conf], { stdio: 'ignore' })
  children.push(daemon)
  for (let i = 0; i < 600 && !existsSync(join(dir, 'clamd.sock')); i++) {
    if (daemon.exitCode !== null) break
    await sleep(100)
  }
  if (!existsSync(join(dir, 'clamd.sock'))) {
    const why = `clamd did not start: ${tail(join(dir, 'clamd.log'))}`
    await stop()
    return { why }
  }
  const onacc = spawn(clamonacc, [`--config-file=${conf}`, '--fdpass', '--foreground', `--log=${join(dir, 'clamonacc.log')}`], { stdio: 'ignore' })
  children.push(onacc)
  const ready = async (dirs: readonly string[]): Promise<void> => {
    for (const d of dirs) {
      const probe = join(d, '.eyrie-bench-probe')
      writeFileSync(probe, `${MARKER}\n`)
      try {
        const start = Date.now()
        let nudged = false
        while (!blocked(probe)) {
          if (onacc.exitCode !== null || onacc.signalCode !== null) throw new Error(`clamonacc exited: ${tail(join(dir, 'clamonacc.log'))}`)
          if (Date.now() > start + 15_000) throw new Error(`clamonacc did not block a marked file in ${d} within 15 s: ${tail(join(dir, 'clamonacc.log'))}`)
          if (!nudged && d !== dirs[0] && d.startsWith(`${dirs[0]}/`) && Date.now() > start + 3_000) {
            // clamonacc watches a directory when it sees it appear in a watched one, and can miss one
            // made in the same instant as its parent: moving the top one below the first (watched,
            // probed first) directory out and back makes the whole subtree appear again
            nudged = true
            const top = join(dirs[0], relative(dirs[0], d).split('/')[0])
            renameSync(top, `${top}.eyrie-rewatch`)
            renameSync(`${top}.eyrie-rewatch`, top)
          }
          await sleep(20)
        }
      } finally {
        unlinkSync(probe)
      }
    }
  }
  try {
    await ready([root])
  } catch (err) {
    await stop()
    return { why: err instanceof Error ? err.message : String(err) }
  }
  const pids = children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]))
  return { root, pids, ready, stop }
}
