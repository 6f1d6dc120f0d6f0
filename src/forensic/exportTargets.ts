// Where an export goes: a directory or a tar file. Both refuse to write outside their root: names are
// checked relative paths (exportPlan.ts), directories are made by the export itself and checked with
// lstat (a symlink where a directory should be is a conflict, never followed), files are created with
// O_EXCL|O_NOFOLLOW, and symlinks are made last, when every directory already exists, so no later
// write can pass through one. Names (and symlink targets) are written as the bytes they stand for
// (src/events/names.ts), so one that was not UTF-8 in the guest is not UTF-8 in the export either.
import { constants } from 'node:fs'
import { chmod, lstat, mkdir, open, readdir, realpath, symlink, link, writeFile, type FileHandle } from 'node:fs/promises'
import { nameToBytes } from '../events/index.js'
import { TarWriter } from './tar.js'

/** A name the export cannot write where it belongs (something else is already there). */
export class ExportConflict extends Error {
  override readonly name = 'ExportConflict'
}

/** Receives a file's bytes in order; `zeros` marks a chunk that is all zeros (a sparse file skips it). */
export type FileSink = (chunk: Uint8Array, zeros: boolean) => Promise<void>

/** Permission bits an export gives (exportPlan's exportedMode); null: the defaults, 0755 and 0644. */
export type Mode = number | null

export interface ExportTarget {
  /** A directory; parents first. Its mode takes effect once everything is written (a directory
   *  without write permission would refuse its names). */
  dir(rel: string, mode?: Mode): Promise<void>
  /** A regular file of `size` bytes; `fill` must deliver exactly that many. */
  file(rel: string, size: number, fill: (sink: FileSink) => Promise<void>, mode?: Mode): Promise<void>
  /** A second name for a file already written. */
  link(rel: string, existing: string): Promise<void>
  symlink(rel: string, target: string): Promise<void>
  /** Written last, beside the root (not inside it), so no guest name can collide with it. */
  manifest(json: string): Promise<void>
  close(): Promise<void>
}

export const ROOT = 'root'
export const MANIFEST = 'manifest.json'

const FLUSH_AT = 1 << 20
const SLASH = Buffer.from('/')

const isMissing = (err: unknown): boolean => err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT'
const isExisting = (err: unknown): boolean => err instanceof Error && (err as NodeJS.ErrnoException).code === 'EEXIST'

/** An export directory: created (0700: it holds what the guest wrote) or an existing empty one. */
export const openDirTarget = async (dir: string): Promise<ExportTarget> => {
  try {
    const st = await lstat(dir)
    if (!st.isDirectory()) throw new ExportConflict(`${dir} exists and is not a directory`)
    if ((await readdir(dir)).length > 0) throw new ExportConflict(`${dir} is not empty: export into a new or empty directory`)
  } catch (err) {
    if (!isMissing(err)) throw err
    await mkdir(dir, { recursive: true, mode: 0o700 })
  }
  const base = await realpath(dir, { encoding: 'buffer' })
  const under = (b: Buffer, rel: string): Buffer => (rel === '' ? b : Buffer.concat([b, SLASH, nameToBytes(rel)]))
  const root = under(base, ROOT)
  await mkdir(root, { mode: 0o755 })
  const made = new Set<string>([''])
  const dirModes: Array<[string, number]> = []

  /** Makes each missing component of rel; an existing one must be a real directory. */
  const ensureDir = async (rel: string): Promise<void> => {
    if (made.has(rel)) return
    const parts = rel.split('/')
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/')
      if (made.has(sub)) continue
      const abs = under(root, sub)
      try {
        await mkdir(abs, { mode: 0o755 })
      } catch (err) {
        if (!isExisting(err)) throw err
        const st = await lstat(abs)
        if (!st.isDirectory()) throw new ExportConflict(`/${sub} is ${st.isSymbolicLink() ? 'a symlink' : 'a file'} in the export, so it cannot hold /${rel}`)
      }
      made.add(sub)
    }
  }
  const parentOf = (rel: string): string => rel.slice(0, Math.max(0, rel.lastIndexOf('/')))
  const create = async (rel: string): Promise<FileHandle> => {
    await ensureDir(parentOf(rel))
    try {
      return await open(under(root, rel), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644)
    } catch (err) {
      if (isExisting(err)) throw new ExportConflict(`/${rel} is already in the export (a directory or another file)`)
      throw err
    }
  }

  return {
    async dir(rel, mode) {
      await ensureDir(rel)
      if (mode !== undefined && mode !== null) dirModes.push([rel, mode])
    },
    async file(rel, size, fill, mode) {
      const fh = await create(rel)
      try {
        // contiguous chunks are gathered into one write; zero runs are skipped (the file stays sparse)
        const buf = Buffer.allocUnsafe(FLUSH_AT)
        let used = 0
        let at = 0 // file offset of buf[0]
        let pos = 0
        const flush = async (): Promise<void> => {
          let off = 0
          while (off < used) off += (await fh.write(buf, off, used - off, at + off)).bytesWritten
          used = 0
        }
        await fill(async (chunk, zeros) => {
          if (zeros || (used > 0 && used + chunk.length > FLUSH_AT)) await flush()
          if (zeros) {
            pos += chunk.length
            return
          }
          if (chunk.length >= FLUSH_AT) {
            let off = 0
            while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off, pos + off)).bytesWritten
          } else {
            if (used === 0) at = pos
            buf.set(chunk, used)
            used += chunk.length
          }
          pos += chunk.length
        })
        await flush()
        if (pos !== size) throw new Error(`bug: /${rel}: ${pos} bytes delivered for a size of ${size}`)
        await fh.truncate(size)
        if (mode !== undefined && mode !== null) await fh.chmod(mode)
      } finally {
        await fh.close()
      }
    },
    async link(rel, existing) {
      await ensureDir(parentOf(rel))
      try {
        await link(under(root, existing), under(root, rel))
      } catch (err) {
        if (isExisting(err)) throw new ExportConflict(`/${rel} is already in the export`)
        throw err
      }
    },
    async symlink(rel, target) {
      await ensureDir(parentOf(rel))
      try {
        await symlink(nameToBytes(target), under(root, rel))
      } catch (err) {
        if (isExisting(err)) throw new ExportConflict(`/${rel} is already in the export (a directory or a file)`)
        throw err
      }
    },
    manifest: (json) => writeFile(under(base, MANIFEST), json, { flag: 'wx', mode: 0o600 }),
    // deepest first: a directory's mode never stands in the way of setting one below it. Every name
    // on the way is a directory this export made (a symlink is only made where nothing was)
    close: async () => {
      for (const [rel, mode] of dirModes.sort((a, b) => b[0].split('/').length - a[0].split('/').length)) await chmod(under(root, rel), mode)
    },
  }
}

/** A tar file (POSIX ustar, pax where a name or size does not fit; tar.ts): `root/...` entries, then
 *  manifest.json. The file must not exist yet. Every entry has the same mtime (T), so the same answer
 *  gives the same bytes. */
export const openTarTarget = async (file: string, mtime: Date): Promise<ExportTarget> => {
  const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  const tar = new TarWriter(fh)
  const name = (rel: string): Buffer => nameToBytes(`${ROOT}/${rel}`)
  return {
    dir: (rel, mode) => tar.entry({ name: Buffer.concat([name(rel), SLASH]), type: 'directory', mode: mode ?? 0o755, mtime }),
    file: (rel, size, fill, mode) => tar.entry({ name: name(rel), type: 'file', size, mode: mode ?? 0o644, mtime }, (write) => fill((chunk) => write(chunk))),
    link: (rel, existing) => tar.entry({ name: name(rel), type: 'link', linkname: name(existing), mode: 0o644, mtime }),
    symlink: (rel, target) => tar.entry({ name: name(rel), type: 'symlink', linkname: nameToBytes(target), mode: 0o777, mtime }),
    manifest: (json) => {
      const bytes = Buffer.from(json)
      return tar.entry({ name: Buffer.from(MANIFEST), type: 'file', size: bytes.length, mode: 0o644, mtime }, (write) => write(bytes))
    },
    close: async () => {
      try {
        await tar.finish()
      } finally {
        await fh.close()
      }
    },
  }
}
