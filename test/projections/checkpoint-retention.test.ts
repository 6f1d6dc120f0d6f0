// Encoding a checkpoint must not keep the world alive: msgpackr holds the structured-clone map of the
// last value it packed (every object in it) until its next pack, which for a recorder is the next
// checkpoint. A WeakRef to an object of an encoded state, collected once nothing else holds it, is
// the oracle.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { emptyWorld, type FsNode } from '../../src/projections/state.js'
import { encodeWorld } from '../../src/projections/checkpoint.js'
import { msgpackCodec } from '../../src/library/replay.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const collected = async (make: () => WeakRef<object>): Promise<boolean> => {
  const ref = make()
  for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc()
  }
  return ref.deref() === undefined
}

test('given a world encoded as a checkpoint, then none of its objects is kept once the world is dropped', async () => {
  assert.ok(await collected(() => {
    const w = emptyWorld()
    const node: FsNode = { id: 1, type: 'file', inode: null, content: { extents: [], size: 0 }, target: null, complete: true, links: 1, opens: 0, views: 0, unflushed: 0, lastWrite: null, lastVerdict: null }
    w.nodes.set(1, node)
    encodeWorld(w)
    return new WeakRef(node)
  }), 'the encoder still holds the node')
})

test('given a user projection state encoded by msgpackCodec, then none of its objects is kept once the state is dropped', async () => {
  const codec = msgpackCodec<{ m: Map<string, object> }>()
  assert.ok(await collected(() => {
    const inner = { n: 1 }
    codec.encode({ m: new Map([['k', inner]]) })
    return new WeakRef(inner)
  }), 'the encoder still holds the state')
})
