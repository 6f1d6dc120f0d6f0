// The eyrie command line. Exit codes: 0 ok, 1 error, 2 usage error. Errors become one line here.
import { Argument, Command, CommanderError, Option } from 'commander'
import { JournalError } from '../journal/errors.js'
import { TraceError } from '../native/errors.js'
import { AT_QUERIES, runAt } from './at.js'
import { CliError, UsageError } from './errors.js'
import { runGuests, runLog } from './log.js'
import { registerRecord } from './record.js'
import { registerAttach } from './attach.js'
import { registerScanCommands } from './scan.js'
import { runExport, runImport } from './transfer.js'
import { runExportTree } from './forensic.js'
import { registerForensic } from './forensicCommands.js'
import { registerKafka } from './kafka.js'

const program = (): Command => {
  const p = new Command('eyrie')
    .description('replicate what a process tree does to its files; ask what any file, fd table or process looked like at any time')
    .option('--journal <dir|url>', 'journal directory (default: $EYRIE_JOURNAL or ./journal) or kafka://HOST:PORT[,...]/TOPIC (docs/kafka.md)')
    .option('--guest <id>', 'guest id (default: the most recent guest)')
    .option('--json', 'machine-readable output')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText('after', `
Times (T): end | #SEQ (state just after event SEQ) | ISO-8601 instant | nanoseconds since the epoch | +DURATION from the first event (+1.5s, +250ms)

Examples:
  eyrie import strace run.log
  eyrie at end ls /tmp/work
  eyrie at '#120' cat /tmp/work/out.txt
  eyrie log --path '/tmp/work/**' --kind file`)
  const g = () => p.opts<{ journal?: string; guest?: string; json?: boolean }>()

  p.command('guests').description('list the guests in the journal').action(() => runGuests(g()))

  p.command('log')
    .description('list events')
    .option('--pid <pid>', 'only this process')
    .option('--path <glob>', 'only events naming a matching path')
    .option('--kind <kind>', 'only this kind or family (file, fd.open, ...)')
    .option('--from <T>', 'from this time')
    .option('--to <T>', 'up to this time')
    .action((o) => runLog({ ...g(), ...o }))

  p.command('at')
    .description(`answer a query about the state at time T: ${AT_QUERIES.join(', ')}`)
    .argument('<T>', 'time')
    .addArgument(new Argument('<query>', 'what to show').choices(AT_QUERIES))
    .argument('[arg]', 'DIR for ls, PATH for cat, PID for fds/maps')
    .option('--allow-unknown', 'cat: print bytes eyrie never saw as zeros (listed on stderr) instead of failing')
    .action((t: string, q: string, arg: string | undefined, o: { allowUnknown?: boolean }) => runAt(t, q, arg, { ...g(), ...o }))

  p.command('import')
    .description('import events: strace FILE (see README for the strace line) or jsonl FILE')
    .argument('<format>', 'strace | jsonl')
    .argument('<file>')
    .option('--cwd <dir>', 'strace: working directory of the traced command (default: this one)')
    .addOption(new Option('--skip-bad', 'import the good lines, report the bad ones').conflicts('strict'))
    .option('--strict', 'commit nothing if any line is bad (default)')
    .option('--checkpoint-every <n>', 'events between checkpoints')
    .action((format: string, file: string, o) => runImport(format, file, { ...g(), ...o }))

  p.command('export')
    .description('export the guest\'s events (jsonl), or with --at T every file as it was at T into DIR or FILE.tar, with manifest.json listing unknown bytes')
    .argument('<what>', 'jsonl, or with --at: DIR (new or empty) | FILE.tar')
    .option('--out <file>', 'jsonl: write here instead of stdout')
    .option('--at <T>', 'export the files as they were at T')
    .option('--under <dir>', 'with --at: only names at or below this guest directory')
    .option('--skip-unsafe', 'with --at: export the rest when some names would leave the export root (listed in the manifest)')
    .action((what: string, o) => (o.at === undefined ? runExport(what, { ...g(), ...o }) : runExportTree(what, { ...g(), ...o })))
  registerForensic(p, g)
  registerScanCommands(p, g)
  registerRecord(p, g)
  registerAttach(p, g)
  registerKafka(p, g)
  return p
}

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
