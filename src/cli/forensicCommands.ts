// Registration of the forensic and maintenance commands (one call from main.ts).
import type { Command } from 'commander'
import type { GlobalOpts } from './context.js'
import { runDiff, runTimeline } from './forensic.js'
import { runGc, runInfo, runVerify } from './maintain.js'

export const registerForensic = (p: Command, g: () => GlobalOpts): void => {
  p.command('diff')
    .description('what changed between T1 and T2: files created/changed/deleted/renamed (size, sha256), processes started/exited, fds opened/closed')
    .argument('<T1>', 'from this time')
    .argument('<T2>', 'to this time')
    .option('--no-activity', 'skip counting the events in between (faster on long intervals)')
    .action((t1: string, t2: string, o: { activity?: boolean }) => runDiff(t1, t2, { ...g(), ...o }))

  p.command('timeline')
    .description('every version of PATH: seq, time, writer pid/exe, size, sha256')
    .argument('<path>', 'absolute path in the guest')
    .option('--from <T>', 'only versions made after this time')
    .option('--to <T>', 'only versions made up to this time')
    .action((path: string, o: { from?: string; to?: string }) => runTimeline(path, { ...g(), ...o }))

  p.command('verify')
    .description('check every record and payload checksum, seq continuity and checkpoint consistency; exit 1 naming the first bad guest/seq')
    .action(() => runVerify(g()))

  p.command('info')
    .description('guests, events, payload bytes, time span, checkpoints, retention, journal size on disk')
    .action(() => runInfo(g()))

  p.command('gc')
    .description('retention: in live mode free payload bytes a flush confirmed and the latest state no longer reads; forensic mode (default) keeps everything and reports')
    .option('--live', 'switch the guest(s) to live retention and free now')
    .option('--dry-run', 'report what live mode would free, change nothing')
    .action((o: { live?: boolean; dryRun?: boolean }) => runGc({ ...g(), ...o }))
}
