// The eyrie command line. Exit codes: 0 ok, 1 error, 2 usage error. Errors become one line here.
import { CommanderError } from 'commander'
import { JournalError } from '../journal/errors.js'
import { TraceError } from '../native/errors.js'
import { program } from './commands.js'
export { loadAll } from './commands.js'
import { CliError, UsageError } from './errors.js'

/** A reader that stopped reading (`eyrie log | head`) ends eyrie as SIGPIPE ends coreutils: quietly, 141. */
const quietOnClosedPipe = (): void => {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
    process.exit(128 + 13)
  })
}

export const main = async (argv: readonly string[]): Promise<number> => {
  quietOnClosedPipe()
  try {
    await program().parseAsync([...argv])
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2
    if (err instanceof UsageError) {
      process.stderr.write(`eyrie: ${err.message}\n`)
      return 2
    }
    if (err instanceof CliError || err instanceof JournalError || err instanceof TraceError) {
      process.stderr.write(`eyrie: ${err.message}\n`)
      return 1
    }
    process.stderr.write(`eyrie: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    return 1
  }
}
