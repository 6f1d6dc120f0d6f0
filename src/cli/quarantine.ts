// `eyrie quarantine list` and `eyrie quarantine restore ID`: the files the scanner moved aside into
// <journal>/quarantine.
import { defaultJournalDir } from '../journal/lmdb.js'
import { ScannerError } from '../scanner/errors.js'
import { listQuarantine, quarantineDir, restoreQuarantine } from '../scanner/quarantine.js'
import type { GlobalOpts } from './context.js'
import { CliError } from './errors.js'
import { printJson, printTable } from './output.js'

const journalDir = (o: GlobalOpts): string => o.journal ?? defaultJournalDir()

const cliErrors = async <T>(f: () => Promise<T>): Promise<T> => {
  try {
    return await f()
  } catch (err) {
    if (err instanceof ScannerError) throw new CliError(err.message)
    throw err
  }
}

export const runQuarantineList = (o: GlobalOpts): Promise<void> =>
  cliErrors(async () => {
    const { records, problems } = await listQuarantine(journalDir(o))
    if (o.json) printJson({ dir: quarantineDir(journalDir(o)), records, problems })
    else {
      printTable(['id', 'when', 'path', 'size', 'mode', 'signature'], records.map((r) => [r.id, r.at, r.copied === true ? `${r.path} (copied: it had no name)` : r.path, r.size, r.mode.toString(8).padStart(4, '0'), r.signature]))
    }
    for (const p of problems) process.stderr.write(`eyrie: unreadable quarantine record ${p}\n`)
    if (problems.length > 0) process.exitCode = 1
  })

export interface RestoreOpts extends GlobalOpts { to?: string; force?: boolean }

export const runQuarantineRestore = (id: string, o: RestoreOpts): Promise<void> =>
  cliErrors(async () => {
    const r = await restoreQuarantine(journalDir(o), id, { to: o.to, force: o.force })
    if (o.json) printJson(r)
    else process.stderr.write(`eyrie: restored ${r.id} to ${r.to} (mode ${r.mode.toString(8).padStart(4, '0')})\n`)
  })
