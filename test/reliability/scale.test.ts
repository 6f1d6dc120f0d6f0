// Scale, small: 200 short-lived processes, 16 threads writing one file (at their own offsets, or all
// through one shared descriptor, O_APPEND or not, where the order the kernel applied the writes
// decides where each record lands), 2,000 files, a 1 GiB sparse file; bench/torture.ts runs the
// issue's counts (1,000 / 100 / 100,000 / 4 GiB). Each recording's end state is compared with the
// disk byte for byte, and the recorder's peak RSS stays bounded.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { scaleRun, scaleSpecs, SMALL } from './scale.js'

/** The recorder is node + tsx (~100 MiB before it records anything); what it holds beyond that must
 *  not grow with the workload. */
const RSS_LIMIT_KIB = 400 * 1024

const specs = await scaleSpecs(SMALL)

describe('recording at scale (small counts)', { concurrency: 2 }, () => {
  for (const spec of specs) {
    test(`given ${spec.name}, then the journal's end state is the disk's, byte for byte`, async () => {
      const r = await scaleRun(spec)
      assert.equal(r.status, 0, r.stderr)
      assert.deepEqual(r.mismatches.slice(0, 5), [])
      assert.ok(r.files > 0 && r.events > 0, `${r.files} files, ${r.events} events`)
      assert.ok(r.peakRssKiB > 0 && r.peakRssKiB < RSS_LIMIT_KIB, `peak RSS ${r.peakRssKiB} KiB`)
    })
  }
})
