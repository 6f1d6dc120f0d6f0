// Shared views (issue 5): what an on-demand sync costs, and what recording costs a program whose
// file state lives partly in a shared mapping.
//
//   sync     a 1 GiB MAP_SHARED view of a sparse file; the program stores into N pages (1, 1000),
//            then waits while we time syncViews() (stop the holder, scan pagemap, read and hash the
//            present pages, send the changed ones, commit): "sparse" has only the stored pages
//            present; "resident" first reads every page (all 262,144 present) and is synced once
//            to learn their hashes, so the timed sync scans 1 GiB to find the N changed pages.
//   sqlite   sqlite3 inserting --rows rows in WAL mode (-shm is a shared mapping), one transaction
//            per insert, synchronous=NORMAL: unmonitored vs `eyrie record`-equivalent (traceCommand
//            into a real LMDB journal), paired per round, median ratio.
//
// Run: node --import tsx bench/views.ts [--rounds 3] [--rows 100000]
import { execFileSync, spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { readFile, writeFile } from 'node:fs/promises'
import { Ingest } from '../src/engine/replay.js'
import { openLmdbJournal } from '../src/journal/lmdb.js'
import { recordCommand, traceCommand } from '../src/native/index.js'

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, rows: { type: 'string', default: '100000' } } })
const ROUNDS = Number(args.rounds)
const ROWS = Number(args.rows)
const GiB = 1 << 30

const DRIVER = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
size, dirty, resident, go, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == '1', sys.argv[4], sys.argv[5]
fd = os.open('big', os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, size)
view = libc.mmap(None, size, 3, 1, fd, 0)
buf = (ctypes.c_char * size).from_address(view)
def handshake(word):
    with open(ready, 'w') as f: f.write(word + '\\n')
    with open(go) as f: f.readline()
if resident:
    total = 0
    for p in range(0, size, 4096): total += buf[p][0]
    handshake('resident')  # synced once: eyrie learns every page
pages = size // 4096
for i in range(dirty): buf[(i * (pages // dirty)) * 4096] = b'x'
handshake('dirty')
`

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const syncCase = async (dirty: number, resident: boolean): Promise<{ ms: number; bytes: number }> => {
  const dir = mkdtempSync(join(tmpdir(), 'eyrie-bench-views-'))
  const journal = await openLmdbJournal(join(dir, 'journal'))
  try {
    execFileSync('mkfifo', [join(dir, 'go'), join(dir, 'ready')])
    const ingest = await Ingest.open(journal, 'bench')
    let synced = 0
    const tracing = recordCommand(['/usr/bin/python3', '-c', DRIVER, String(GiB), String(dirty), resident ? '1' : '0', join(dir, 'go'), join(dir, 'ready')], {
      cwd: dir,
      onBatch: async (drafts) => {
        for (const d of drafts) if (d.body.kind === 'view.sync') synced += d.body.len
        await ingest.push(drafts)
      },
    })
    let result = { ms: 0, bytes: 0 }
    for (;;) {
      const word = (await readFile(join(dir, 'ready'), 'utf8')).trim() // async: the trace needs this thread
      const before = synced
      const t0 = process.hrtime.bigint()
      await tracing.syncViews()
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (word === 'dirty') result = { ms, bytes: synced - before }
      await writeFile(join(dir, 'go'), 'go\n')
      if (word === 'dirty') break
    }
    const r = await tracing.done
    if (r.status !== 0) throw new Error(`driver exited ${r.status ?? r.signal}`)
    await ingest.finish()
    return result
  } finally {
    await journal.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const sqliteRound = async (script: string): Promise<{ plain: number; eyrie: number }> => {
  const out: { plain: number; eyrie: number } = { plain: 0, eyrie: 0 }
  for (const mode of ['plain', 'eyrie'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'eyrie-bench-sqlite-'))
    const journal = await openLmdbJournal(join(dir, 'journal'))
    const input = openSync(script, 'r')
    try {
      const argv = ['sqlite3', join(dir, 'db')]
      const t0 = process.hrtime.bigint()
      if (mode === 'plain') {
        const r = spawnSync(argv[0], argv.slice(1), { stdio: [input, 'ignore', 'inherit'] })
        if (r.status !== 0) throw new Error('sqlite3 failed')
      } else {
        const ingest = await Ingest.open(journal, 'bench')
        const r = await traceCommand(argv, { onBatch: (d) => ingest.push(d), stdio: { stdin: input, stdout: openSync('/dev/null', 'w') } })
        if (r.status !== 0) throw new Error(`sqlite3 under eyrie exited ${r.status ?? r.signal}`)
        await ingest.finish()
      }
      out[mode] = Number(process.hrtime.bigint() - t0) / 1e6
    } finally {
      closeSync(input)
      await journal.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
  return out
}

const main = async (): Promise<void> => {
  console.log(`load ${readFileSync('/proc/loadavg', 'utf8').trim()}`)
  for (const resident of [false, true]) {
    for (const dirty of [1, 1000]) {
      const runs = []
      for (let i = 0; i < ROUNDS; i++) runs.push(await syncCase(dirty, resident))
      const ms = median(runs.map((r) => r.ms))
      console.log(`on-demand sync, 1 GiB view (${resident ? 'resident' : 'sparse'}), ${dirty} dirty page(s): p50 ${ms.toFixed(1)} ms, ${runs[0].bytes} bytes sent`)
    }
  }
  const script = join(tmpdir(), `eyrie-bench-sqlite-${ROWS}.sql`)
  const lines = ['PRAGMA journal_mode=WAL;', 'PRAGMA synchronous=NORMAL;', 'CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);']
  for (let i = 0; i < ROWS; i++) lines.push(`INSERT INTO t (v) VALUES ('row ${i}');`)
  writeFileSync(script, lines.join('\n') + '\n')
  const rounds = []
  for (let i = 0; i < ROUNDS; i++) rounds.push(await sqliteRound(script))
  const ratio = median(rounds.map((r) => r.eyrie / r.plain))
  console.log(`sqlite3 ${ROWS} inserts (WAL): plain p50 ${median(rounds.map((r) => r.plain)).toFixed(0)} ms, eyrie p50 ${median(rounds.map((r) => r.eyrie)).toFixed(0)} ms, overhead x${ratio.toFixed(2)} (median of paired ratios)`)
  rmSync(script, { force: true })
}

await main()
