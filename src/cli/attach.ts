// `eyrie attach PID`: journal what a running process tree does to its files, from now on, until it
// exits or eyrie is told to stop (SIGINT/SIGTERM: eyrie detaches and the tree runs on, untraced).
// Refusals come from the kernel (ptrace's access check: same user or CAP_SYS_PTRACE, a dumpable
// process, Yama's ptrace_scope, no other tracer); eyrie says which of those it can see.
import { readFileSync } from 'node:fs'
import type { Draft } from '../events/index.js'
import { DEFAULT_CHECKPOINT_EVERY, Ingest } from '../engine/replay.js'
import { attachPid, TraceError } from '../native/index.js'
import { openJournal, type GlobalOpts } from './context.js'
import { CliError, UsageError } from './errors.js'
import { warnIoUring } from './record.js'
import { printStopStats, recorderCpuSince } from './stopStats.js'

export interface AttachOpts extends GlobalOpts {
  checkpointEvery?: string
  stats?: boolean
}

const statusField = (pid: number, field: string): string | null => {
  try {
    return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? null
  } catch {
    return null
  }
}

const ptraceScope = (): string | null => {
  try {
    return readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim()
  } catch {
    return null // no Yama
  }
}

/** What the caller can be told about an EPERM: whose process it is, who traces it, Yama. */
export const whyNotPermitted = (pid: number): string => {
  const reasons: string[] = []
  const owner = statusField(pid, 'Uid')?.split(/\s+/)[0]
  const me = process.getuid?.()
  if (owner !== undefined && me !== undefined && Number(owner) !== me) reasons.push(`it belongs to uid ${owner}, eyrie runs as uid ${me} (attach as that user, or as root)`)
  const tracer = Number(statusField(pid, 'TracerPid') ?? 0)
  if (tracer > 0) reasons.push(`it is already traced by process ${tracer}`)
  const scope = ptraceScope()
  if (scope !== null && scope !== '0') reasons.push(`Yama's kernel.yama.ptrace_scope is ${scope} (only descendants, or CAP_SYS_PTRACE)`)
  return reasons.length === 0 ? 'the kernel refused (a setuid or non-dumpable process, or a missing CAP_SYS_PTRACE)' : reasons.join('; ')
}

export const runAttach = async (pidText: string, o: AttachOpts): Promise<number> => {
  if (!/^[1-9][0-9]{0,9}$/.test(pidText)) throw new UsageError(`PID must be a process id, got ${JSON.stringify(pidText)}`)
  const pid = Number(pidText)
  if (pid === process.pid) throw new UsageError('eyrie cannot attach to itself')
  const every = o.checkpointEvery === undefined ? DEFAULT_CHECKPOINT_EVERY : Number(o.checkpointEvery)
  if (!Number.isSafeInteger(every) || every < 1) throw new UsageError(`--checkpoint-every must be a positive integer, got ${JSON.stringify(o.checkpointEvery)}`)
  const guest = o.guest ?? `attach-${pid}-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}`
  const j = await openJournal(o, false)
  const started = process.hrtime.bigint()
  let stopSignal: NodeJS.Signals | null = null
  const onSignal = (s: NodeJS.Signals): void => {
    stopSignal ??= s
    session?.detach()
  }
  let session: ReturnType<typeof attachPid> | undefined
  try {
    if ((await j.lastSeq(guest)) > 0) throw new CliError(`guest ${guest} already has events; attach into a new guest`)
    const meta = { source: 'attach', pid: String(pid), command: statusField(pid, 'Name') ?? '?' }
    const ingest = await Ingest.open(j, guest, every)
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    // the guest is named in the journal with its first batch: a refused attach leaves nothing behind
    let named = false
    const cpu = process.cpuUsage()
    session = attachPid(pid, {
      onBatch: async (drafts: Draft[]) => {
        if (!named) {
          named = true
          await j.setMeta(guest, meta)
        }
        await ingest.push(drafts)
      },
    })
    let result
    try {
      result = await session.done
    } catch (err) {
      if (err instanceof TraceError && err.code === 'EPERM') throw new CliError(`cannot attach to process ${pid}: not permitted: ${err.message.includes('already traced') ? err.message : whyNotPermitted(pid)}`)
      if (err instanceof TraceError && err.code === 'ESRCH') throw new CliError(`cannot attach to process ${pid}: no such process`)
      throw err
    }
    await ingest.finish()
    const secs = Number(process.hrtime.bigint() - started) / 1e9
    const end = stopSignal !== null ? `detached on ${stopSignal}; process ${pid} runs on` : result.signal !== null ? `process ${pid} was killed by ${result.signal}` : `process ${pid} exited with status ${result.status ?? '?'}`
    process.stderr.write(`eyrie: guest ${guest}: ${ingest.now.seq} events, ${result.bytes} bytes written, ${secs.toFixed(2)} s; ${end}\n`)
    if (result.message !== null) process.stderr.write(`eyrie: ${result.message}\n`) // tasks the kernel let go (tracer.cc letRestGo)
    warnIoUring(ingest.now)
    if (o.stats === true) printStopStats(result.stats, o.json === true, recorderCpuSince(cpu))
    return 0
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    await j.close()
  }
}
