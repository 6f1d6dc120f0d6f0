// Quarantine: an infected file is moved aside into `<journal>/quarantine` (mode 0700), made
// unreadable to others and unexecutable (0600), and described by a JSON record beside it, so that
// `eyrie quarantine list` can show it and `restore` can put it back with its mode and owner.
import { randomBytes } from 'node:crypto'
import { chmod, chown, copyFile, lstat, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import * as t from 'io-ts'
import * as E from 'fp-ts/lib/Either.js'
import { formatErrors, nameToBytes } from '../events/index.js'
import { reasonOf, ScannerError } from './errors.js'

export const QuarantineRecord = t.intersection([t.type({
  id: t.string,
  /** where the file was */
  path: t.string,
  /** where it is now */
  to: t.string,
  /** when it was moved, ISO-8601 */
  at: t.string,
  size: t.number,
  mode: t.number,
  uid: t.number,
  gid: t.number,
  sha256: t.union([t.string, t.null]),
  signature: t.union([t.string, t.null]),
  guest: t.union([t.string, t.null]),
}), t.partial({
  /** the file had no name to move it by (a memfd, an unlinked file: `path` is /proc/PID/fd/N of
   *  the process that held it), or its name was a process's own (/proc/PID/root/...: a chroot, a
   *  mount namespace): its bytes were copied, and the file stays */
  copied: t.boolean,
})])
export type QuarantineRecord = t.TypeOf<typeof QuarantineRecord>

export interface QuarantineInfo {
  readonly sha256?: string | null
  readonly signature?: string | null
  readonly guest?: string | null
}

export const quarantineDir = (journalDir: string): string => join(resolve(journalDir), 'quarantine')

const ID = /^q-\d{8}T\d{6}Z-[0-9a-f]{8}$/

const newId = (now: Date): string => `q-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(4).toString('hex')}`

const ensureDir = async (dir: string): Promise<void> => {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  // mkdir's mode is masked by the umask and not applied to an existing directory
  await chmod(dir, 0o700)
}

/** rename, or copy + unlink across file systems (EXDEV), keeping the bytes exactly. */
const move = async (from: string | Buffer, to: string | Buffer): Promise<void> => {
  try {
    await rename(from, to)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
    await copyFile(from, to)
    await unlink(from)
  }
}

/** A file reached through the descriptor of the process holding it (it has no name to move). */
const HELD = /^\/proc\/[0-9]+\/fd\/[0-9]+$/
/** A file reached through a process's own root (a chroot, a mount namespace: src/native/procfs.h
 *  rootBase): its name there may be a mount point over another file, which a rename from here would
 *  move instead (the mount is detached); its bytes are copied. */
const ROOTED = /^\/proc\/[0-9]+\/root\//

/** Moves `path` into the quarantine of `journalDir` (copies it when it is a held file with no name, or
 *  reached through a process's root);
 *  returns the record it wrote. */
export const quarantine = async (path: string, journalDir: string, info: QuarantineInfo = {}): Promise<QuarantineRecord> => {
  const dir = quarantineDir(journalDir)
  const from = resolve(path)
  try {
    await ensureDir(dir)
    // the guest's name as the bytes it stands for (src/events/names.ts)
    const link = await lstat(nameToBytes(from))
    const copied = (link.isSymbolicLink() && HELD.test(from)) || ROOTED.test(from)
    const st = copied ? await stat(from) : link
    if (!st.isFile()) throw new Error('not a regular file')
    const at = new Date()
    const id = newId(at)
    const to = join(dir, `${id}.bin`)
    if (copied) await copyFile(from, to)
    else await move(nameToBytes(from), to)
    await chmod(to, 0o600)
    const record: QuarantineRecord = {
      id, path: from, to, at: at.toISOString(), size: st.size, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid,
      sha256: info.sha256 ?? null, signature: info.signature ?? null, guest: info.guest ?? null, ...(copied ? { copied } : {}),
    }
    await writeFile(join(dir, `${id}.json`), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 })
    return record
  } catch (err) {
    throw new ScannerError('QUARANTINE', `quarantine ${from}: ${reasonOf(err)}`, false, { cause: err })
  }
}

const readRecord = async (file: string): Promise<E.Either<string, QuarantineRecord>> => {
  let u: unknown
  try {
    u = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    return E.left(`${file}: ${reasonOf(err)}`)
  }
  const r = QuarantineRecord.decode(u)
  return E.isLeft(r) ? E.left(`${file}: ${formatErrors(r.left)}`) : E.right(r.right)
}

/** Every record, oldest first; unreadable records are reported, not skipped silently. */
export const listQuarantine = async (journalDir: string): Promise<{ records: QuarantineRecord[]; problems: string[] }> => {
  const dir = quarantineDir(journalDir)
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], problems: [] }
    throw new ScannerError('QUARANTINE', `quarantine ${dir}: ${reasonOf(err)}`, false, { cause: err })
  }
  const records: QuarantineRecord[] = []
  const problems: string[] = []
  for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
    const r = await readRecord(join(dir, n))
    if (E.isLeft(r)) problems.push(r.left)
    else records.push(r.right)
  }
  return { records: records.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)), problems }
}

export interface RestoreOptions {
  /** put it here instead of where it was */
  readonly to?: string
  /** replace a file that now exists there */
  readonly force?: boolean
}

/** Moves a quarantined file back (original mode and owner) and removes its record. */
export const restoreQuarantine = async (journalDir: string, id: string, o: RestoreOptions = {}): Promise<QuarantineRecord> => {
  if (!ID.test(id)) throw new ScannerError('QUARANTINE', `no quarantine id ${JSON.stringify(id)} (ids look like q-20261123T162320Z-1a2b3c4d; see eyrie quarantine list)`)
  const dir = quarantineDir(journalDir)
  const r = await readRecord(join(dir, `${id}.json`))
  if (E.isLeft(r)) throw new ScannerError('QUARANTINE', `no quarantine record ${id}: ${r.left}`)
  const rec = r.right
  if (rec.copied === true && o.to === undefined) throw new ScannerError('QUARANTINE', `restore ${id}: its file had no name (it was ${rec.path}, held by a process): say where with --to`)
  const dest = resolve(o.to ?? rec.path)
  try {
    const bytes = nameToBytes(dest)
    const exists = await stat(bytes).then(() => true, (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? false : Promise.reject(err)))
    if (exists && o.force !== true) throw new Error(`${dest} exists (--force replaces it, --to puts it elsewhere)`)
    await mkdir(nameToBytes(dirname(dest)), { recursive: true })
    await move(join(dir, `${id}.bin`), bytes)
    // only root may give a file away (a non-root restore keeps the restorer as owner); chown first:
    // it clears set-user-ID bits that the chmod then puts back
    if (process.getuid?.() === 0) await chown(bytes, rec.uid, rec.gid)
    await chmod(bytes, rec.mode)
    await rm(join(dir, `${id}.json`))
    return { ...rec, to: dest }
  } catch (err) {
    throw new ScannerError('QUARANTINE', `restore ${id}: ${reasonOf(err)}`, false, { cause: err })
  }
}
