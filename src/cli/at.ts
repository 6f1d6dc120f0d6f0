// `eyrie at T QUERY [ARG]`: answers about R(T).
import { createHash } from 'node:crypto'
import { materialize, UnknownBytesError } from '../engine/content.js'
import { worldAt } from '../engine/replay.js'
import type { Journal } from '../journal/journal.js'
import { DELETED_SUFFIX } from '../events/index.js'
import { contentPlan, fds, ioUringNote, ls, maps, modeString, ownerString, openFiles, ps, readBackNote } from '../projections/index.js'
import { CliError, UsageError } from './errors.js'
import { openJournal, pickGuest, seqOf, type GlobalOpts } from './context.js'
import { printJson, printTable } from './output.js'
import { AT_QUERIES } from './commands.js'
import { formatTree, processTree } from '../forensic/tree.js'


export interface AtOpts extends GlobalOpts { allowUnknown?: boolean }

const lsLagNote = (seq: number, n: number): string =>
  `${n} file(s) held open for writing at #${seq}: recorded writes are read back where they can be observed, so their sizes and bytes are as last read back and may lack some written since (at T cat PATH says since when)`

/** A name as /proc shows it: with " (deleted)" when it is gone. */
const shownPath = (r: { readonly path: string; readonly deleted: boolean }): string => (r.deleted ? r.path + DELETED_SUFFIX : r.path)

const pidArg = (arg: string | undefined): number | undefined => {
  if (arg === undefined) return undefined
  if (!/^\d+$/.test(arg)) throw new UsageError(`PID must be a number, got ${JSON.stringify(arg)}`)
  return Number(arg)
}

export const runAt = async (t: string, query: string, arg: string | undefined, o: AtOpts): Promise<void> => {
  const j = await openJournal(o)
  try {
    await answer(j, t, query, arg, o)
  } finally {
    await j.close()
  }
}

const answer = async (j: Journal, t: string, query: string, arg: string | undefined, o: AtOpts): Promise<void> => {
  const guest = await pickGuest(j, o)
  const seq = await seqOf(j, guest, t)
  const w = await worldAt(j, guest, seq)
  // every answer about files is partial when a process submitted file operations through io_uring
  const note = ioUringNote(w)
  if (note !== null) process.stderr.write(`eyrie: ${note}\n`)
  switch (query) {
    case 'ls': {
      const rows = ls(w, arg ?? '/')
      const lagging = rows.filter((r) => r.lagging).length
      if (o.json) return printJson({ guest, seq, files: rows, note: lagging === 0 ? null : lsLagNote(seq, lagging) })
      // '?': a file's size or bytes eyrie does not know; '-': nothing to know (a directory, a fifo)
      const file = (r: (typeof rows)[number], v: number | null): string | number => (r.type !== 'file' ? '-' : (v ?? '?'))
      printTable(['mode', 'owner', 'path', 'type', 'size', 'unknown', 'last write', 'writer'], rows.map((r) => [
        modeString(r.type, r.mode), ownerString(r.uid, r.gid), r.type === 'symlink' ? `${r.path} -> ${r.target}` : r.path, r.type, `${file(r, r.size)}${r.lagging ? '*' : ''}`, file(r, r.unknownBytes),
        r.lastWriteSeq === null ? null : `#${r.lastWriteSeq}`, r.writerPid === null ? null : `${r.writerPid} ${r.writerExe ?? ''}`.trim(),
      ]))
      if (lagging > 0) process.stderr.write(`eyrie: * ${lsLagNote(seq, lagging)}\n`)
      return
    }
    case 'cat': {
      if (arg === undefined) throw new UsageError('at T cat needs a PATH')
      const plan = contentPlan(w, arg)
      if (!plan.ok) throw new CliError(plan.reason)
      if (plan.size === null && !o.allowUnknown) throw new CliError(`${plan.path}: size unknown at #${seq} (the file existed before eyrie saw it); --allow-unknown prints the known bytes`)
      const { bytes, unknown } = await materialize(j, guest, plan.pieces)
      if (unknown.length > 0 && !o.allowUnknown) throw new CliError(`${new UnknownBytesError(plan.path, unknown).message} (at #${seq}); --allow-unknown prints them as zeros`)
      const lag = readBackNote(w, plan.path)
      if (o.json) return printJson({ guest, seq, path: plan.path, size: plan.size, sha256: createHash('sha256').update(bytes).digest('hex'), unknown, note: lag, data: bytes.toString('base64') })
      if (lag !== null) process.stderr.write(`eyrie: ${lag}\n`)
      if (unknown.length > 0) process.stderr.write(`eyrie: ${new UnknownBytesError(plan.path, unknown).message}, printed as zeros\n`)
      await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())))
      return
    }
    case 'fds': {
      const rows = fds(w, pidArg(arg))
      if (o.json) return printJson({ guest, seq, fds: rows })
      return printTable(['pid', 'fd', 'mode', 'pos', 'cloexec', 'path'], rows.map((r) => [r.pid, r.fd, r.mode, r.pos ?? '?', r.cloexec ? 'yes' : '', shownPath(r)]))
    }
    case 'maps': {
      const rows = maps(w, pidArg(arg))
      if (o.json) return printJson({ guest, seq, maps: rows })
      return printTable(['pid', 'range', 'prot', 'share', 'offset', 'path'], rows.map((r) => [r.pid, `${r.start.toString(16)}-${r.end.toString(16)}`, r.prot, r.shared ? 'shared' : 'private', r.offset, shownPath(r)]))
    }
    case 'ps': {
      const rows = ps(w)
      if (o.json) return printJson({ guest, seq, procs: rows })
      return printTable(['pid', 'ppid', 'state', 'fds', 'exe', 'argv'], rows.map((r) => [r.pid, r.ppid, `${r.live ? 'live' : `exited ${r.status ?? '?'}`}${r.ioUring === null ? '' : `, io_uring from #${r.ioUring}`}`, r.fds, r.exe, r.argv.join(' ').slice(0, 60)]))
    }
    case 'files': {
      const rows = openFiles(w)
      if (o.json) return printJson({ guest, seq, files: rows })
      return printTable(['path', 'fds', 'views', 'unflushed'], rows.map((r) => [
        shownPath(r), r.fds.map((f) => `${f.pid}:${f.fd}${f.mode}`).join(' '), r.views.map((v) => `${v.pid}:${v.shared ? 's' : 'p'}`).join(' '), r.unflushed,
      ]))
    }
    case 'tree': {
      const roots = processTree(w)
      if (o.json) return printJson({ guest, seq, tree: roots })
      process.stdout.write(roots.length === 0 ? `no live process at #${seq}\n` : `${formatTree(roots)}\n`)
      return
    }
    default:
      throw new UsageError(`unknown query ${JSON.stringify(query)}: use one of ${AT_QUERIES.join(', ')}`)
  }
}
