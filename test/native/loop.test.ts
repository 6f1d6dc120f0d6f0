// A file made the backing of a loop device (losetup, mount -o loop): what is written to the device
// (mkfs, a mounted file system, dd) changes the file with no call on it. eyrie kept the bytes the
// tree had written into it and served them after the device changed it: a wrong answer. Now the
// interceptor reads such a file back at the moments it can be observed (an open of it, the end),
// through an fd of its own, holes included (a discard on the device punches one into the file); the
// kernel (the file's sha256 after each step) is the oracle.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { contentAt, recordNatively, recordWithStrace } from '../support/e2e.js'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

// after each step: the image's sha256 (sha256sum opens it: an observation), then a marker (cd .)
const SCRIPT = `
set -e
tell() { sha256sum img | cut -d' ' -f1 >> hashes; cd .; }
dd if=/dev/zero of=img bs=64K count=16 status=none; tell
dev=$(losetup -f --show img)
printf LOOPDATA | dd of=$dev bs=512 seek=3 conv=notrunc,fsync status=none; tell
printf AGAIN | dd of=$dev bs=4096 seek=100 conv=notrunc,fsync status=none
losetup -d $dev; tell
dev=$(losetup -f --show img)
printf LAST | dd of=$dev bs=512 seek=9 conv=notrunc,fsync status=none
blkdiscard -o 0 -l 4096 $dev
losetup -d $dev
`

const loops = process.getuid?.() === 0 && existsSync('/dev/loop-control')
const skip = loops ? false : 'needs root and loop devices'

test('native: given a file the tree wrote, then changed through a loop device, content at each step and at the end hashes as the file did', { skip }, async () => {
  const r = await recordNatively(['sh', '-c', SCRIPT])
  try {
    const img = join(r.dir, 'img')
    const shell = r.events.find((e) => e.kind === 'proc.chdir')?.pid
    const markers = r.events.filter((e) => e.kind === 'proc.chdir' && e.pid === shell).map((e) => e.seq)
    const hashes = (await readFile(join(r.dir, 'hashes'), 'utf8')).trim().split('\n')
    assert.deepEqual([markers.length, hashes.length], [3, 3], 'one marker per step')
    for (const [i, seq] of markers.entries()) assert.equal(sha(await contentAt(r, seq, img)), hashes[i], `step ${i}`)
    // the last changes came after the last open of it: read back at the end, the page the discard
    // punched out (a hole: the loop device's discard is a FALLOC_FL_PUNCH_HOLE no call shows) as zeros
    assert.deepEqual(await contentAt(r, r.events.length, img), await readFile(img))
  } finally {
    await r.cleanup()
  }
})

test('strace import: given a file made to back a loop device, the import says its content cannot be followed instead of serving stale bytes', { skip }, async () => {
  await assert.rejects(recordWithStrace(['sh', '-c', SCRIPT]), /ioctl LOOP_(CONFIGURE|SET_FD) made a file back a loop device/)
})
