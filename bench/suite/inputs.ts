// The workloads' inputs, built locally (no downloads) and cached under the work directory: each input
// lives in a directory named after a hash of its parameters and the generator version, and counts as
// built only once its `.done` marker exists (an interrupted build is redone).
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as t from 'io-ts'
import { PathReporter } from 'io-ts/lib/PathReporter.js'
import * as E from 'fp-ts/lib/Either.js'
import { writeCorpus, type CorpusSize } from './corpus.js'
import { writeCProject, type CProjectSize } from './cproject.js'
import { writeY4m, type ClipSize } from './media.js'
import { below, seeded, vocabulary } from './random.js'

/** Bump when a generator changes what it writes: cached inputs are then rebuilt. */
const GENERATORS = 1

export interface Sizes {
  /** many small files: tar extract */
  readonly corpus: CorpusSize
  /** the same kinds of bytes in a few hundred files: 7z, which the paper ran as a compute-bound job
   *  (per-file costs belong to tar extract) */
  readonly archive: CorpusSize
  readonly clip: ClipSize
  readonly project: CProjectSize
  readonly inserts: number
}

export const FULL: Sizes = {
  corpus: { files: 7000, bytes: 170e6 },
  archive: { files: 400, bytes: 170e6 },
  clip: { width: 1280, height: 720, frames: 240 },
  project: { units: 64, functions: 20 },
  inserts: 100_000,
}

export const QUICK: Sizes = {
  corpus: { files: 200, bytes: 2e6 },
  archive: { files: 20, bytes: 2e6 },
  clip: { width: 160, height: 96, frames: 8 },
  project: { units: 4, functions: 3 },
  inserts: 2000,
}

export interface Inputs {
  /** directory holding the corpus files (its name inside archives is `corpus`) */
  readonly corpus: string
  readonly corpusFiles: number
  readonly corpusBytes: number
  readonly tarball: string
  /** directory holding the 7z corpus (its name inside the archive is `corpus`) */
  readonly archiveTree: string
  readonly archiveFiles: number
  readonly archiveBytes: number
  /** the 7z corpus as a .7z */
  readonly archive: string
  readonly clip: string
  readonly project: string
  readonly units: number
  readonly sql: string
  readonly inserts: number
}

const key = (what: string, params: unknown): string =>
  `${what}-${createHash('sha256').update(JSON.stringify({ GENERATORS, params })).digest('hex').slice(0, 10)}`

/** Builds `dir` with `build` unless a finished build is there; returns what `build` recorded. */
const cached = <T>(dir: string, codec: t.Type<T>, log: (line: string) => void, build: (dir: string) => T): T => {
  const done = join(dir, '.done')
  if (existsSync(done)) {
    const info = codec.decode(JSON.parse(readFileSync(done, 'utf8')))
    if (E.isRight(info)) return info.right
    log(`rebuilding ${dir}: ${done}: ${PathReporter.report(info).join('; ')}`)
  }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  log(`building ${dir}`)
  const t0 = Date.now()
  const info = build(dir)
  writeFileSync(done, JSON.stringify(info))
  log(`built ${dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return info
}

const sqlScript = (n: number): string => {
  const r = seeded(3)
  const words = vocabulary(r, 500)
  const lines = [
    'PRAGMA journal_mode=WAL;',
    // NORMAL is WAL's usual setting: a commit appends to the WAL without an fsync, checkpoints sync
    'PRAGMA synchronous=NORMAL;',
    'CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL, price REAL NOT NULL, note TEXT);',
    'CREATE INDEX items_name ON items(name);',
  ]
  // one statement, one transaction: 100 k commits, each appended to the WAL
  for (let i = 0; i < n; i++) {
    const note = Array.from({ length: 3 + below(r, 8) }, () => words[below(r, words.length)]).join(' ')
    lines.push(`INSERT INTO items(name, qty, price, note) VALUES('${words[below(r, words.length)]}-${i % 997}', ${below(r, 1000)}, ${(below(r, 100000) / 100).toFixed(2)}, '${note}');`)
  }
  return lines.join('\n') + '\n'
}

export const buildInputs = (work: string, sizes: Sizes, log: (line: string) => void): Inputs => {
  const root = join(work, 'inputs')
  const corpusDir = join(root, key('corpus', sizes.corpus))
  const corpus = cached(corpusDir, t.type({ files: t.number, bytes: t.number }), log, (dir) => {
    const files = writeCorpus(join(dir, 'corpus'), sizes.corpus)
    // sorted names and fixed owners: the same tarball on every machine
    execFileSync('tar', ['cf', 'corpus.tar', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', 'corpus'], { cwd: dir, stdio: 'ignore' })
    return { files: files.length, bytes: files.reduce((s, f) => s + f.size, 0) }
  })
  const archiveDir = join(root, key('archive', sizes.archive))
  const archive = cached(archiveDir, t.type({ files: t.number, bytes: t.number }), log, (dir) => {
    const files = writeCorpus(join(dir, 'corpus'), sizes.archive)
    execFileSync('7z', ['a', '-t7z', '-mmt=2', '-bd', '-y', 'corpus.7z', 'corpus'], { cwd: dir, stdio: 'ignore' })
    return { files: files.length, bytes: files.reduce((s, f) => s + f.size, 0) }
  })
  const clipDir = join(root, key('clip', sizes.clip))
  cached(clipDir, t.type({ bytes: t.number }), log, (dir) => ({ bytes: writeY4m(join(dir, 'clip.y4m'), sizes.clip) }))
  const projectDir = join(root, key('project', sizes.project))
  const project = cached(projectDir, t.type({ units: t.number }), log, (dir) => ({ units: writeCProject(join(dir, 'proj'), sizes.project) }))
  const sqlDir = join(root, key('sql', sizes.inserts))
  cached(sqlDir, t.type({ inserts: t.number }), log, (dir) => {
    writeFileSync(join(dir, 'inserts.sql'), sqlScript(sizes.inserts))
    return { inserts: sizes.inserts }
  })
  return {
    corpus: join(corpusDir, 'corpus'),
    corpusFiles: corpus.files,
    corpusBytes: corpus.bytes,
    tarball: join(corpusDir, 'corpus.tar'),
    archiveTree: join(archiveDir, 'corpus'),
    archiveFiles: archive.files,
    archiveBytes: archive.bytes,
    archive: join(archiveDir, 'corpus.7z'),
    clip: join(clipDir, 'clip.y4m'),
    project: join(projectDir, 'proj'),
    units: project.units,
    sql: join(sqlDir, 'inserts.sql'),
    inserts: sizes.inserts,
  }
}
