// Recording overhead on a tar extraction of many small files into a tmpfs, in paired rounds:
//   plain      tar xf, unmonitored
//   eyrie      the same under traceCommand (seccomp-bpf record mode), onBatch a no-op
//   eyrie-w    the same with readPositions: 'writable' (no stop at the exit of reads on read-only fds)
//   strace     strace -f --seccomp-bpf -e trace=<the same calls> -o /dev/null tar xf
// Each round runs every mode once, in a rotating order, into a fresh directory; the ratio to plain
// is taken per round and the median over rounds is reported (drift hits all modes alike).
// The tarball: the first --files regular files of --from (default /usr/include), built once.
// Run: node --import tsx bench/record-tar.ts [--rounds 7] [--files 7000] [--from /usr/include] [--tmpfs /dev/shm]
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import Table from 'cli-table3'
import { addon } from '../src/native/binding.js'
import { traceCommand, type TraceResult } from '../src/native/index.js'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    files: { type: 'string', default: '7000' },
    from: { type: 'string', default: '/usr/include' },
    tmpfs: { type: 'string', default: '/dev/shm' },
    cache: { type: 'string', default: '/tmp/eyrie-bench' },
  },
})
const ROUNDS = Number(args.rounds)
const FILES = Number(args.files)
const run = promisify(execFile)

const tarball = (): string => {
  mkdirSync(args.cache, { recursive: true })
  const tar = join(args.cache, `tar-${FILES}.tar`)
  if (existsSync(tar)) return tar
  const list = execFileSync('find', [args.from, '-type', 'f'], { maxBuffer: 1 << 28 }).toString().split('\n').filter(Boolean).sort().slice(0, FILES)
  const listFile = join(args.cache, `tar-${FILES}.list`)
  writeFileSync(listFile, list.join('\n') + '\n')
  execFileSync('tar', ['cf', tar, '-T', listFile], { stdio: ['ignore', 'ignore', 'ignore'] })
  return tar
}

// strace traces the same calls as the filter, plus the process calls that ptrace options give eyrie
const STRACE_CALLS = [...addon().tracedCalls, 'clone', 'clone3', 'fork', 'vfork', 'exit', 'exit_group'].join(',')

type Mode = 'plain' | 'eyrie' | 'eyrie-w' | 'strace'
const MODES: Mode[] = ['plain', 'eyrie', 'eyrie-w', 'strace']

const once = async (mode: Mode, tar: string): Promise<{ ms: number; trace?: TraceResult }> => {
  const dir = mkdtempSync(join(args.tmpfs, 'eyrie-tar-'))
  try {
    const argv = ['tar', 'xf', tar, '-C', dir]
    const t0 = process.hrtime.bigint()
    let trace: TraceResult | undefined
    if (mode === 'plain') await run(argv[0], argv.slice(1))
    else if (mode === 'strace') await run('strace', ['-f', '--seccomp-bpf', '-e', `trace=${STRACE_CALLS}`, '-o', '/dev/null', ...argv])
    else {
      trace = await traceCommand(argv, { onBatch: () => undefined, readPositions: mode === 'eyrie' ? 'all' : 'writable' })
      if (trace.status !== 0) throw new Error(`tar under eyrie exited with ${trace.status ?? trace.signal}`)
    }
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6, trace }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

const main = async (): Promise<void> => {
  const tar = tarball()
  const mib = statSync(tar).size / 2 ** 20
  console.log(`tarball ${tar}: ${FILES} files, ${mib.toFixed(0)} MiB; extracting into ${args.tmpfs}; ${ROUNDS} rounds`)
  await once('plain', tar) // warm the page cache
  const ms: Record<Mode, number[]> = { plain: [], eyrie: [], 'eyrie-w': [], strace: [] }
  const ratio: Record<Mode, number[]> = { plain: [], eyrie: [], 'eyrie-w': [], strace: [] }
  let last: TraceResult | undefined
  for (let r = 0; r < ROUNDS; r++) {
    const round: Partial<Record<Mode, number>> = {}
    for (let i = 0; i < MODES.length; i++) {
      const mode = MODES[(r + i) % MODES.length]
      const { ms: t, trace } = await once(mode, tar)
      round[mode] = t
      ms[mode].push(t)
      if (mode === 'eyrie') last = trace
    }
    for (const m of MODES) ratio[m].push((round[m] ?? NaN) / (round.plain ?? NaN))
    process.stdout.write(`round ${r + 1}: ${MODES.map((m) => `${m} ${(round[m] ?? 0).toFixed(0)} ms`).join(', ')}\n`)
  }
  const table = new Table({ head: ['mode', 'median ms', 'median ratio to plain', 'min ratio', 'max ratio'] })
  for (const m of MODES) {
    table.push([m, median(ms[m]).toFixed(0), `${median(ratio[m]).toFixed(2)}x`, `${Math.min(...ratio[m]).toFixed(2)}x`, `${Math.max(...ratio[m]).toFixed(2)}x`])
  }
  console.log(table.toString())
  if (last !== undefined) console.log(`eyrie recorded ${last.events} events, ${(last.bytes / 2 ** 20).toFixed(1)} MiB of written bytes per run`)
}

await main()
