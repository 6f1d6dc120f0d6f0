// A private clamd for eyrie (its own config, socket and database directory, nothing written outside
// its run directory, never freshclam), or an existing clamd reached by socket or HOST:PORT.
import { createHash } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { spawnDaemon, type Daemon } from '../native/daemon.js'
import { ClamdClient } from './client.js'
import { describeEndpoint, MAX_SOCKET_PATH, type ClamdEndpoint } from './endpoint.js'
import { reasonOf, ScannerError } from './errors.js'
import { claim, RUN_DIR_PREFIX, sweep } from './leftovers.js'

/** File name endings clamd loads from a database directory (libclamav's CLI_DBEXT list). */
export const DATABASE_EXTENSIONS: readonly string[] = [
  'cvd', 'cld', 'cud', 'hdb', 'hdu', 'hsb', 'hsu', 'mdb', 'mdu', 'msb', 'msu', 'ndb', 'ndu', 'ldb', 'ldu',
  'idb', 'cdb', 'cat', 'crb', 'cfg', 'fp', 'sfp', 'ign', 'ign2', 'ftm', 'pdb', 'gdb', 'wdb', 'info',
  'yar', 'yara', 'pwdb', 'cbc', 'imp',
]

export interface Clamd {
  readonly endpoint: ClamdEndpoint
  /** sha256 over the private database's files (names and bytes); null for an external clamd, whose
   *  VERSION line names its database version instead. Part of every verdict cache key. */
  readonly databaseDigest: string | null
  /** pid of a private clamd; null for an external one */
  readonly pid: number | null
  /** run directory of a private clamd (config, socket, database copy, log) */
  readonly dir: string | null
  /** clamd is known to unpack archives and judge each member as a file (a private clamd: its
   *  configuration says ScanArchive yes); unknown for an external one (false) */
  readonly unpacksArchives?: boolean
  /** Stops a private clamd (SIGTERM, then SIGKILL after 5 s) and removes what it created. No-op for an external one. */
  stop(): Promise<void>
}

export interface StartClamdOptions {
  /** a directory of ClamAV databases (.hdb, .ndb, .cvd, ...); copied into the run directory */
  readonly signatures: string
  /** run directory (created if missing); default: a new temporary directory, removed by stop() */
  readonly dir?: string
  /** largest stream clamd accepts and scans, bytes (StreamMaxLength, MaxFileSize); default 256 MiB */
  readonly maxBytes?: number
  /** clamd worker threads (MaxThreads); default 8 */
  readonly threads?: number
  /** how long to wait for the first PONG; default 60 s (official databases take ~20 s to load) */
  readonly readyTimeoutMs?: number
  /** the clamd binary; default `clamd` on PATH, then /usr/sbin/clamd */
  readonly clamdPath?: string
  /** where clamd keeps its temporary files: every INSTREAM lands in one, and every member of an
   *  archive it unpacks; default: a new directory in /dev/shm when that is a tmpfs with 2 GiB free
   *  (on a slow disk those files cost more than the scans), else the run directory's tmp/ */
  readonly scratch?: string
}

const TMPFS_MAGIC = 0x01021994
const SHM = '/dev/shm'
const SCRATCH_FREE = 2 * 1024 ** 3

/** A directory for clamd's temporary files in memory, if there is room there (null: none). */
const memoryScratch = async (): Promise<string | null> => {
  try {
    const fs = await statfs(SHM)
    if (fs.type !== TMPFS_MAGIC || fs.bavail * fs.bsize < SCRATCH_FREE) return null
    const dir = await mkdtemp(join(SHM, RUN_DIR_PREFIX))
    await claim(dir)
    return dir
  } catch {
    return null // no /dev/shm, or not writable: the run directory serves
  }
}

export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024

const clamdBinary = (given: string | undefined): string => {
  if (given !== undefined) return given
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin'])) {
    if (dir !== '' && existsSync(join(dir, 'clamd'))) return join(dir, 'clamd')
  }
  throw new ScannerError('CLAMD_NOT_FOUND', 'clamd not found (install Debian\'s clamav-daemon: scripts/setup.sh does)')
}

/** The official databases, which freshclam replaces whole (see placeDatabases). */
const OFFICIAL = /\.c[vl]d$/

/** Puts the databases of `from` into `to` and returns the digest of their bytes. The official ones
 *  (.cvd, .cld: ~230 MB) are hard-linked where they can be (same file system, a file we may link):
 *  freshclam replaces them by renaming a new file over them, so a link keeps the bytes hashed here,
 *  without copying them at every start. Others (small, and perhaps edited in place) are copied: the
 *  bytes hashed are the bytes written. */
export const placeDatabases = async (from: string, to: string): Promise<string> => {
  let names: string[]
  try {
    if (!(await stat(from)).isDirectory()) throw new Error('not a directory')
    names = (await readdir(from)).filter((n) => DATABASE_EXTENSIONS.includes(n.slice(n.lastIndexOf('.') + 1))).sort()
  } catch (err) {
    throw new ScannerError('SIGNATURES', `signatures ${from}: ${reasonOf(err)}`, false, { cause: err })
  }
  if (names.length === 0) throw new ScannerError('SIGNATURES', `signatures ${from}: no ClamAV databases (${DATABASE_EXTENSIONS.slice(0, 8).map((e) => `.${e}`).join(' ')} ...)`)
  await mkdir(to, { recursive: true, mode: 0o700 })
  const h = createHash('sha256')
  for (const n of names) {
    const [source, copy] = [join(from, n), join(to, n)]
    // a run directory used again: what is there may be a link to a source, which a write would change
    await rm(copy, { force: true })
    // EXDEV, EPERM (protected_hardlinks): copied
    const linked = OFFICIAL.test(n) && (await link(source, copy).then(() => true, () => false))
    const bytes = await readFile(linked ? copy : source)
    if (!linked) await writeFile(copy, bytes, { mode: 0o600, flag: 'wx' })
    h.update(`${n}\0${bytes.length}\0`).update(bytes)
  }
  return h.digest('hex')
}

const configText = (dir: string, scratch: string, maxBytes: number, threads: number, digest: string): string => `# written by eyrie for its private clamd: everything stays in this directory (temporary files in the scratch one)
# database digest ${digest}
LocalSocket ${join(dir, 'clamd.sock')}
LocalSocketMode 600
FixStaleSocket yes
DatabaseDirectory ${join(dir, 'db')}
TemporaryDirectory ${scratch}
PidFile ${join(dir, 'clamd.pid')}
Foreground yes
LogFile ${join(dir, 'clamd.log')}
LogFileMaxSize 1M
LogTime yes
ScanArchive yes
MaxThreads ${threads}
MaxQueue ${Math.max(100, threads * 16)}
StreamMaxLength ${maxBytes}
MaxFileSize ${maxBytes}
MaxScanSize ${maxBytes * 4}
CommandReadTimeout 30
ReadTimeout 60
SelfCheck 600
ConcurrentDatabaseReload no
`

const tail = async (file: string, lines: number): Promise<string> => {
  try {
    return (await readFile(file, 'utf8')).trim().split('\n').slice(-lines).join(' | ')
  } catch {
    return '' // no log yet: the caller reports stderr and the exit status instead
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Starts a private clamd on `signatures` and resolves once it answers PING. */
export const startClamd = async (o: StartClamdOptions): Promise<Clamd> => {
  const bin = clamdBinary(o.clamdPath)
  const ownDir = o.dir === undefined
  // what private clamds of eyries killed outright left (databases copied, scratch in memory)
  if (ownDir) await sweep(tmpdir())
  if (o.scratch === undefined) await sweep(SHM)
  const dir = ownDir ? await mkdtemp(join(tmpdir(), RUN_DIR_PREFIX)) : resolve(o.dir ?? '.')
  if (ownDir) await claim(dir)
  const socket = join(dir, 'clamd.sock')
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) throw new ScannerError('CLAMD_START', `clamd run directory ${dir}: socket path would exceed ${MAX_SOCKET_PATH} bytes`)
  const inMemory = o.scratch === undefined ? await memoryScratch() : null
  const scratch = o.scratch ?? inMemory ?? join(dir, 'tmp')
  const cleanup = async () => {
    if (inMemory !== null) await rm(inMemory, { recursive: true, force: true })
    if (ownDir) await rm(dir, { recursive: true, force: true })
  }
  let digest: string
  try {
    await mkdir(scratch, { recursive: true, mode: 0o700 })
    digest = await placeDatabases(resolve(o.signatures), join(dir, 'db'))
    await writeFile(join(dir, 'clamd.conf'), configText(dir, scratch, o.maxBytes ?? DEFAULT_MAX_BYTES, o.threads ?? 8, digest), { mode: 0o600 })
  } catch (err) {
    await cleanup()
    throw err
  }
  // outside libuv, in a session of its own (^C at the terminal is for the recorded command)
  const stderrFile = join(dir, 'clamd.stderr')
  let child: Daemon
  try {
    child = spawnDaemon([bin, '--config-file', join(dir, 'clamd.conf')], stderrFile)
  } catch (err) {
    await cleanup()
    const notFound = (err as NodeJS.ErrnoException).code === 'ENOENT'
    throw new ScannerError(notFound ? 'CLAMD_NOT_FOUND' : 'CLAMD_START', `private clamd (${bin}) did not start: ${reasonOf(err)}`, false, { cause: err })
  }
  let failed: string | null = null
  void child.ended.then((how) => {
    failed ??= `clamd exited (${how})`
  })
  // a private clamd must not outlive eyrie: an exit handler can still send a signal synchronously
  // (nor its temporary files in memory)
  const onExit = () => {
    child.kill('SIGTERM')
    if (inMemory !== null) rmSync(inMemory, { recursive: true, force: true })
  }
  process.once('exit', onExit)

  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit)
    if (child.running) {
      child.kill('SIGTERM')
      // a SIGSTOPped clamd ignores SIGTERM until continued
      child.kill('SIGCONT')
      let timer: NodeJS.Timeout | undefined
      const code = await Promise.race([child.ended, new Promise<'timeout'>((res) => (timer = setTimeout(res, 5000, 'timeout')))])
      clearTimeout(timer)
      if (code === 'timeout') {
        child.kill('SIGKILL')
        await child.ended
      }
    }
    await rm(socket, { force: true })
    await cleanup()
  }

  const client = await ClamdClient.create({ socket }, 1000)
  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000)
  for (;;) {
    if (failed !== null) {
      const [log, stderr] = [await tail(join(dir, 'clamd.log'), 3), await tail(stderrFile, 2)]
      await stop()
      throw new ScannerError('CLAMD_START', `private clamd (${bin}) did not start: ${failed}${stderr ? `: ${stderr}` : ''}${log ? ` (log: ${log})` : ''}`)
    }
    if (existsSync(socket)) {
      try {
        await client.ping()
        break
      } catch (err) {
        if (Date.now() > deadline) {
          await stop()
          throw new ScannerError('CLAMD_START', `private clamd did not answer PING within ${o.readyTimeoutMs ?? 60_000} ms: ${reasonOf(err)}`)
        }
      }
    } else if (Date.now() > deadline) {
      await stop()
      throw new ScannerError('CLAMD_START', `private clamd made no socket within ${o.readyTimeoutMs ?? 60_000} ms (log: ${await tail(join(dir, 'clamd.log'), 3)})`)
    }
    await sleep(20)
  }
  return { endpoint: { socket }, databaseDigest: digest, pid: child.pid, dir, unpacksArchives: true, stop }
}

/** Whether the clamd behind a socket is one eyrie started (its run directory, beside the socket,
 *  holds eyrie's configuration for it), which unpacks archives: then its verdict on a tar of many
 *  contents is a verdict on each (Scanner.scanMany). Any other clamd may have ScanArchive off. */
/** What the configuration beside a socket says of a clamd another eyrie process started: that it
 *  unpacks archives, and the digest of its databases (the key of verdicts kept across runs). Only a
 *  file of this user's that no one else can write is believed; otherwise null, as for any clamd. */
const eyrieConfigured = async (endpoint: ClamdEndpoint): Promise<{ digest: string | null } | null> => {
  if (!('socket' in endpoint)) return null
  const path = join(dirname(endpoint.socket), 'clamd.conf')
  let conf: string
  try {
    const st = await stat(path)
    if (st.uid !== (process.geteuid?.() ?? st.uid) || (st.mode & 0o022) !== 0) return null
    conf = await readFile(path, 'utf8')
  } catch (err) {
    // no such file, or not ours to read: an external clamd like any other
    if (['ENOENT', 'ENOTDIR', 'EACCES'].includes((err as NodeJS.ErrnoException).code ?? '')) return null
    throw err
  }
  if (!(conf.startsWith('# written by eyrie') && conf.includes(`\nLocalSocket ${endpoint.socket}\n`) && /^ScanArchive yes$/m.test(conf))) return null
  return { digest: /^# database digest ([0-9a-f]{64})$/m.exec(conf)?.[1] ?? null }
}

/** An existing clamd: resolves once it answers PING within `timeoutMs`. A clamd another eyrie
 *  process started (startClamd) is recognised by its configuration and unpacks archives. */
export const connectClamd = async (endpoint: ClamdEndpoint, timeoutMs = 5000): Promise<Clamd> => {
  const client = await ClamdClient.create(endpoint, timeoutMs)
  try {
    await client.ping()
  } catch (err) {
    const where = describeEndpoint(endpoint)
    // ping's own message names the endpoint too: said once
    throw new ScannerError('CLAMD_UNREACHABLE', `no clamd at ${where}: ${reasonOf(err).replace(`clamd at ${where}: `, '')}`, true, { cause: err })
  }
  const ours = await eyrieConfigured(endpoint)
  return { endpoint, databaseDigest: ours?.digest ?? null, pid: null, dir: null, unpacksArchives: ours !== null, stop: async () => {} }
}
