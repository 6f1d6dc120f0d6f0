// The command table: every command, its arguments and options, and where its work is done. An
// action loads its module when it runs, so a command pays at start-up only for what it uses (`record`
// started in ~320 ms with every command's modules loaded, and a recording waits for that).
import { Argument, Command, Option } from 'commander'
import { DEFAULT_BOUND } from '../scanner/judgments.js'
import type { GlobalOpts } from './context.js'

/** A module loaded when first needed, and only once: later calls (a second main() in one process)
 *  reuse it rather than resolve it again. */
const once = <M>(importIt: () => Promise<M>): (() => Promise<M>) => {
  let loaded: Promise<M> | undefined
  return () => (loaded ??= importIt())
}

const load = {
  at: once(() => import('./at.js')),
  attach: once(() => import('./attach.js')),
  forensic: once(() => import('./forensic.js')),
  kafka: once(() => import('./kafka.js')),
  log: once(() => import('./log.js')),
  maintain: once(() => import('./maintain.js')),
  quarantine: once(() => import('./quarantine.js')),
  record: once(() => import('./record.js')),
  scan: once(() => import('./scan.js')),
  transfer: once(() => import('./transfer.js')),
}

/** Loads every module a command may load, those its module loads when needed included (the build
 *  makes its code cache after this: scripts/bundle.mjs). */
export const loadAll = async (): Promise<void> => {
  await Promise.all([
    ...Object.values(load).map((f) => f()),
    import('./recordScan.js'),
    import('../journal/kafka/kafkaJournal.js'),
    import('../journal/kafka/serve.js'),
    import('clamscan'),
  ])
}

/** What `eyrie at T QUERY` can answer. */
export const AT_QUERIES = ['ls', 'cat', 'fds', 'maps', 'ps', 'files', 'tree'] as const

/** --stats, shared by record and attach. */
const STATS_HELP = 'at the end, on stderr: the stops of the interceptor per call and event, and the tracer\'s time on them (like strace -c)'
/** --verdict-cache, shared by scan and record. */
const VERDICT_CACHE_OPTION = ['--verdict-cache <dir|none>', 'verdicts kept across runs, by content hash and signature database (default $EYRIE_VERDICT_CACHE, else ~/.cache/eyrie/verdicts; none: off)'] as const

export const program = (): Command => {
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

  p.command('guests').description('list the guests in the journal').action(async () => (await load.log()).runGuests(g()))

  p.command('log')
    .description('list events')
    .option('--pid <pid>', 'only this process')
    .option('--path <glob>', 'only events naming a matching path')
    .option('--kind <kind>', 'only this kind or family (file, fd.open, ...)')
    .option('--from <T>', 'from this time')
    .option('--to <T>', 'up to this time')
    .action(async (o) => (await load.log()).runLog({ ...g(), ...o }))

  p.command('at')
    .description(`answer a query about the state at time T: ${AT_QUERIES.join(', ')}`)
    .argument('<T>', 'time')
    .addArgument(new Argument('<query>', 'what to show').choices(AT_QUERIES))
    .argument('[arg]', 'DIR for ls, PATH for cat, PID for fds/maps')
    .option('--allow-unknown', 'cat: print bytes eyrie never saw as zeros (listed on stderr) instead of failing')
    .action(async (t: string, q: string, arg: string | undefined, o: { allowUnknown?: boolean }) => (await load.at()).runAt(t, q, arg, { ...g(), ...o }))

  p.command('import')
    .description('import events: strace FILE (see README for the strace line) or jsonl FILE')
    .argument('<format>', 'strace | jsonl')
    .argument('<file>')
    .option('--cwd <dir>', 'strace: working directory of the traced command (default: this one)')
    .addOption(new Option('--skip-bad', 'import the good lines, report the bad ones').conflicts('strict'))
    .option('--strict', 'commit nothing if any line is bad (default)')
    .option('--checkpoint-every <n>', 'events between checkpoints')
    .action(async (format: string, file: string, o) => (await load.transfer()).runImport(format, file, { ...g(), ...o }))

  p.command('export')
    .description('export the guest\'s events (jsonl), or with --at T every file as it was at T into DIR or FILE.tar, with manifest.json listing unknown bytes')
    .argument('<what>', 'jsonl, or with --at: DIR (new or empty) | FILE.tar')
    .option('--out <file>', 'jsonl: write here instead of stdout')
    .option('--at <T>', 'export the files as they were at T')
    .option('--under <dir>', 'with --at: only names at or below this guest directory')
    .option('--skip-unsafe', 'with --at: export the rest when some names would leave the export root (listed in the manifest)')
    .action(async (what: string, o) => (o.at === undefined ? (await load.transfer()).runExport(what, { ...g(), ...o }) : (await load.forensic()).runExportTree(what, { ...g(), ...o })))
  registerForensic(p, g)
  registerScan(p, g)
  registerRecording(p, g)
  registerKafka(p, g)
  return p
}

const registerForensic = (p: Command, g: () => GlobalOpts): void => {
  p.command('diff')
    .description('what changed between T1 and T2: files created/changed/deleted/renamed (size, sha256), processes started/exited, fds opened/closed')
    .argument('<T1>', 'from this time')
    .argument('<T2>', 'to this time')
    .option('--no-activity', 'skip counting the events in between (faster on long intervals)')
    .action(async (t1: string, t2: string, o: { activity?: boolean }) => (await load.forensic()).runDiff(t1, t2, { ...g(), ...o }))

  p.command('timeline')
    .description('every version of PATH: seq, time, writer pid/exe, size, sha256')
    .argument('<path>', 'absolute path in the guest')
    .option('--from <T>', 'only versions made after this time')
    .option('--to <T>', 'only versions made up to this time')
    .action(async (path: string, o: { from?: string; to?: string }) => (await load.forensic()).runTimeline(path, { ...g(), ...o }))

  p.command('verify')
    .description('check every record and payload checksum, seq continuity and checkpoint consistency; exit 1 naming the first bad guest/seq')
    .action(async () => (await load.maintain()).runVerify(g()))

  p.command('info')
    .description('guests, events, payload bytes, time span, checkpoints, retention, journal size on disk')
    .action(async () => (await load.maintain()).runInfo(g()))

  p.command('gc')
    .description('retention: in live mode free payload bytes a flush confirmed and the latest state no longer reads; forensic mode (default) keeps everything and reports')
    .option('--live', 'switch the guest(s) to live retention and free now')
    .option('--dry-run', 'report what live mode would free, change nothing')
    .action(async (o: { live?: boolean; dryRun?: boolean }) => (await load.maintain()).runGc({ ...g(), ...o }))
}

/** Which clamd, and how it is used: scan's and record's options (a forensic scan waits longer for a
 *  verdict than a tracee should; record's private clamd defaults to the system's databases). */
const clamdOptions = (c: Command, d: { readonly signatures: string; readonly timeoutMs: number }): Command => c
  .option('--signatures <dir>', `ClamAV databases: eyrie starts a private clamd on them for this command${d.signatures}`)
  .option('--clamd <socket|host:port>', 'use this clamd instead of a private one')
  .option('--timeout <ms>', `longest wait for one verdict (default ${d.timeoutMs})`)
  .option('--connections <n>', 'parallel clamd connections (default 4)')
  .option(...VERDICT_CACHE_OPTION)

const registerScan = (p: Command, g: () => GlobalOpts): void => {
  clamdOptions(p.command('scan')
    .description('scan content as the guest saw it at T (every file known at T, or the PATHs), or every version of one file')
    .argument('[path...]', 'absolute paths (default: every file known at T)')
    .option('--at <T>', 'time to scan at (default end)')
    .option('--history <path>', 'scan every version of this file up to T and report the first infected seq'), { signatures: '', timeoutMs: 30_000 })
    .addHelpText('after', `
Exit status: 0 everything scanned is clean, 3 something is infected, 1 a scan failed or a PATH did
not exist at T (and nothing is infected), 2 usage error.`)
    .action(async (paths: string[], o) => (await load.scan()).runScan(paths, { ...g(), ...o }))

  const q = p.command('quarantine').description('files the scanner moved aside into <journal>/quarantine')
  q.command('list').description('list quarantined files').action(async () => (await load.quarantine()).runQuarantineList(g()))
  q.command('restore')
    .description('move a quarantined file back, with its mode and owner')
    .argument('<id>')
    .option('--to <path>', 'restore here instead of where it was')
    .option('--force', 'replace a file that now exists there')
    .action(async (id: string, o: { to?: string; force?: boolean }) => (await load.quarantine()).runQuarantineRestore(id, { ...g(), ...o }))
}

const registerRecording = (p: Command, g: () => GlobalOpts): void => {
  clamdOptions(p.command('record')
    .description('run CMD under the native interceptor and journal every state-changing file call of its process tree')
    .argument('<cmd...>', 'the command and its arguments (put -- before it)')
    .option('--checkpoint-every <n>', 'events between checkpoints')
    .option('--scan', 'ClamAV judges each exec and each open of a file that passes the filter before it happens; infected -> EACCES + quarantine')
    .option('--scan-all', 'like --scan, without the extension/magic filter'), { signatures: ' (default /var/lib/clamav)', timeoutMs: 5000 })
    .option('--on-scanner-failure <policy>', 'deny | allow | exec=deny,open=allow (the default)')
    .option('--scan-backlog <n>', `files closed after writing that may wait for their verdict before the tracees wait too (default ${DEFAULT_BOUND})`)
    .option('--retention <mode>', 'forensic (default): keep every version; live: free written bytes once a flush confirms them and nothing reads them')
    .option('--stats', STATS_HELP)
    .action(async (cmd: string[], o) => {
      process.exitCode = await (await load.record()).runRecord(cmd, { ...g(), ...o })
    })

  p.command('attach')
    .description('journal what a running process (and its descendants) does to its files until it exits; SIGINT/SIGTERM detach and leave it running')
    .argument('<pid>', 'the process to attach to (its threads and descendants follow)')
    .option('--checkpoint-every <n>', 'events between checkpoints')
    .option('--stats', STATS_HELP)
    .action(async (pid: string, o) => {
      process.exitCode = await (await load.attach()).runAttach(pid, { ...g(), ...o })
    })
}

const registerKafka = (p: Command, g: () => GlobalOpts): void => {
  p.command('serve')
    .description('run an engine instance on a Kafka journal: instances of one group share the partitions; query one with --journal STATE_DIR')
    .requiredOption('--from <url>', 'kafka://HOST:PORT[,HOST:PORT]/TOPIC[?tls=1&sasl=...&user=...]')
    .requiredOption('--state <dir>', 'this instance\'s state store (events, checkpoints, offsets, parked records)')
    .option('--group <id>', 'consumer group (default eyrie-serve-TOPIC)')
    .option('--checkpoint-every <n>', 'events between checkpoints per guest (default 50000)')
    .option('--session-timeout <ms>', 'how long the group waits for a silent instance (default 10000)')
    .option('--fetch-wait <ms>', 'how long a fetch waits for new records (default 500)')
    .action(async (o: { from: string; state: string }) => (await load.kafka()).runServe(o))

  p.command('ship')
    .description('copy guests from a journal directory to Kafka or back; shipping again sends only what is new (--guest: only that guest)')
    .requiredOption('--from <dir|url>', 'source: a journal directory or kafka:// URL')
    .requiredOption('--to <dir|url>', 'destination: a kafka:// URL or a journal directory')
    .action(async (o: { from: string; to: string }) => (await load.kafka()).runShip({ ...g(), ...o }))
}
