// A checkpoint is the whole world, serialised: R(t) = R(checkpoint <= t) + E(checkpoint, t].
// Decoding always yields a fresh world, so the fold may own and mutate it. The world a checkpoint
// holds may have compacted files (compact.ts); `expandWorld` gives the fold's own world back.
import { Packr } from 'msgpackr'
import type { World } from './state.js'

/** 2: `compaction` in the world, compacted extents (seq < 0). 3: `positions`, Ofd.pos may be null. */
const STATE_VERSION = 3
const packr = new Packr({ structuredClone: true, useRecords: true, mapsAsObjects: false })

/** `structured.pack(value)` by a Packr with structuredClone, which keeps the structured-clone map of
 *  the last value it packed (each of its objects, and a record per object) until its next pack: a
 *  recorder's world, deleted files included, between checkpoints. Packing null lets go of it. */
export const packLettingGo = (structured: Packr, value: unknown): Buffer => {
  const bytes = structured.pack(value)
  structured.pack(null)
  return bytes
}

export const encodeWorld = (w: World): Uint8Array => {
  const body = packLettingGo(packr, w)
  const out = Buffer.allocUnsafe(body.length + 1)
  out[0] = STATE_VERSION
  body.copy(out, 1)
  return out
}

/** Throws on a foreign version or undecodable bytes (the journal has already checked the checksum). */
export const decodeWorld = (bytes: Uint8Array): World => {
  if (bytes[0] !== STATE_VERSION && bytes[0] !== 2) throw new Error(`checkpoint state version ${bytes[0]}, this eyrie reads 2 and ${STATE_VERSION}`)
  const w: World = packr.unpack(Buffer.from(bytes.buffer, bytes.byteOffset + 1, bytes.byteLength - 1))
  if (bytes[0] === 2) w.positions = 'all' // version 2 kept every position it had
  if (!(w.procs instanceof Map) || !(w.nodes instanceof Map) || typeof w.seq !== 'number' || w.compaction === undefined) throw new Error('checkpoint state is not a world')
  return w
}

export const cloneWorld = (w: World): World => decodeWorld(encodeWorld(w))
