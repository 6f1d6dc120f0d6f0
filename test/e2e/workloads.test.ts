// Real programs recorded for real (strace + import, and the native interceptor), checked byte-exact
// against the kernel: side copies taken by the workload at chosen moments, and the disk at the end.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile, mkdir } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { contentAt, diskFiles, RECORDERS, seqOfOpen, type Recorded } from '../support/e2e.js'

/** Every file on disk below the work dir equals eyrie's content at the end. */
const assertEndEqualsDisk = async (r: Recorded, skip: (p: string) => boolean = () => false) => {
  const last = r.events[r.events.length - 1].seq
  const disk = await diskFiles(r.dir, skip)
  assert.ok(disk.size > 0, 'the workload left files')
  for (const [path, bytes] of disk) assert.deepEqual(await contentAt(r, last, path), bytes, `${path} at end`)
}

/** For each side copy snapN taken with dd, the file it copied had exactly those bytes at that moment. */
const assertSnapshots = async (r: Recorded, pairs: ReadonlyArray<readonly [string, string]>) => {
  const disk = await diskFiles(r.dir)
  for (const [file, snap] of pairs) {
    const at = seqOfOpen(r, join(r.dir, snap))
    const expected = disk.get(join(r.dir, snap))
    assert.ok(expected !== undefined, `${snap} exists`)
    assert.deepEqual(await contentAt(r, at, join(r.dir, file)), expected, `${file} at #${at} equals ${snap}`)
  }
}

const SCRIPT = `set -e
snap() { dd if="$1" of="$2" status=none; }
echo "first line" > f.txt;                       snap f.txt s1
echo "appended" >> f.txt;                        snap f.txt s2
printf XY | dd of=f.txt bs=1 seek=2 conv=notrunc status=none; snap f.txt s3
truncate -s 5 f.txt;                             snap f.txt s4
truncate -s 9 f.txt;                             snap f.txt s5
mv f.txt g.txt;                                  snap g.txt s6
ln g.txt h.txt; echo more >> h.txt;              snap g.txt s7
echo replaced > x.txt; mv x.txt g.txt;           snap g.txt s8
rm h.txt
mkdir -p sub/deeper && printf 'nested\\n' > sub/deeper/n.txt
mv sub moved
exec 3>keep.txt; echo via-fd-3 >&3; rm keep.txt; echo after-unlink >&3; exec 3>&-
`

for (const [name, record] of RECORDERS) {
  test(`${name}: given a shell script that writes, appends, patches, truncates, renames and links, content at each side copy and at the end is exact`, async () => {
    const r = await record(['sh', '-c', SCRIPT])
    try {
      await assertSnapshots(r, [['f.txt', 's1'], ['f.txt', 's2'], ['f.txt', 's3'], ['f.txt', 's4'], ['f.txt', 's5'], ['g.txt', 's6'], ['g.txt', 's7'], ['g.txt', 's8']])
      await assertEndEqualsDisk(r)
    } finally {
      await r.cleanup()
    }
  })

  test(`${name}: given tar extracting a tree of files, every extracted file equals the disk`, async () => {
    const r = await record(['tar', 'xf', '../src.tar'], {
      setup: async (dir) => {
        const src = join(dir, '..', `src-${process.pid}`)
        await mkdir(join(src, 'a', 'b'), { recursive: true })
        for (let i = 0; i < 40; i++) await writeFile(join(src, i % 2 ? 'a' : join('a', 'b'), `f${i}.bin`), Buffer.alloc(i * 997, i))
        execFileSync('tar', ['cf', join(dir, '..', 'src.tar'), '-C', src, '.'])
      },
    })
    try {
      await assertEndEqualsDisk(r)
    } finally {
      await r.cleanup()
    }
  })

  test(`${name}: given git init, add and commit, every file under .git and the work tree equals the disk`, async () => {
    const r = await record(['sh', '-c', 'git init -q . && echo hello > a.txt && mkdir d && echo world > d/b.txt && git add . && git -c user.name=t -c user.email=t@e -c commit.gpgsign=false commit -qm first && echo again >> a.txt && git -c user.name=t -c user.email=t@e commit -qam second'])
    try {
      await assertEndEqualsDisk(r)
    } finally {
      await r.cleanup()
    }
  })

  test(`${name}: given sqlite3 in WAL mode inserting rows, the database file equals the disk`, async () => {
    const sql = "PRAGMA journal_mode=WAL; CREATE TABLE t(x INTEGER, y TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 2000) INSERT INTO t SELECT i, printf('row %d', i) FROM c; UPDATE t SET y = 'changed' WHERE x % 7 = 0; PRAGMA wal_checkpoint(TRUNCATE);"
    const r = await record(['sqlite3', 'db.sqlite', sql])
    try {
      // -shm is written only through a shared mapping: its bytes are the mapped-views issue, not this one
      await assertEndEqualsDisk(r, (p) => p.endsWith('-shm'))
    } finally {
      await r.cleanup()
    }
  })
}
