// `eyrie record -- CMD [ARGS...]`: run CMD under the native interceptor and journal what it does.
import { constants } from 'node:os'
import type { Command } from 'commander'
import { Ingest } from '../engine/replay.js'
import { traceCommand } from '../native/index.js'
import { openJournal, type GlobalOpts } from './context.js'
import { CliError } from './errors.js'

export interface RecordOpts extends GlobalOpts { checkpointEvery?: string }

const newGuestId = (cmd: string) => `${cmd.split('/').pop()?.replace(/[^A-Za-z0-9._-]/g, '_') || 'run'}-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${process.pid}`

export const runRecord = async (argv: readonly string[], o: RecordOpts): Promise<number> => {
  if (argv.length === 0) throw new CliError('record needs a command: eyrie record -- CMD [ARGS...]')
  const guest = o.guest ?? newGuestId(argv[0])
  const j = await openJournal(o, false)
  const started = process.hrtime.bigint()
  try {
    if ((await j.lastSeq(guest)) > 0) throw new CliError(`guest ${guest} already has events; record into a new guest`)
    await j.setMeta(guest, { source: 'record', command: argv.join(' '), cwd: process.cwd() })
    const ingest = await Ingest.open(j, guest, o.checkpointEvery === undefined ? undefined : Number(o.checkpointEvery))
    // the tracees wait while a batch is being committed: nothing is dropped when the disk is slow
    const result = await traceCommand([...argv], { onBatch: (drafts) => ingest.push(drafts) })
    await ingest.finish()
    if (result.message !== null) process.stderr.write(`eyrie: ${result.message}\n`)
    const secs = Number(process.hrtime.bigint() - started) / 1e9
    process.stderr.write(`eyrie: guest ${guest}: ${ingest.now.seq} events, ${result.bytes} bytes written, ${secs.toFixed(2)} s\n`)
    if (result.signal !== null) return 128 + signalNumber(result.signal)
    return result.status ?? 1
  } finally {
    await j.close()
  }
}

const signalNumber = (name: string): number => {
  const table: Readonly<Record<string, number>> = constants.signals
  return table[name] ?? 0
}

export const registerRecord = (p: Command, g: () => GlobalOpts): void => {
  p.command('record')
    .description('run CMD under the native interceptor and journal every state-changing file call of its process tree')
    .argument('<cmd...>', 'the command and its arguments (put -- before it)')
    .option('--checkpoint-every <n>', 'events between checkpoints')
    .action(async (cmd: string[], o: { checkpointEvery?: string }) => {
      process.exitCode = await runRecord(cmd, { ...g(), ...o })
    })
}
