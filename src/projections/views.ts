// Memory-mapped views of files, per process: mmap adds a region (replacing what it overlaps, as
// MAP_FIXED does), munmap/mremap/mprotect split regions at their edges.
import { releaseIfUnused } from './names.js'
import { firstEndingAfter } from './sorted.js'
import type { Proc, View, World } from './state.js'

const PAGE = 4096
const pageUp = (n: number): number => Math.ceil(n / PAGE) * PAGE

// A process's views are kept sorted by address and disjoint, so their ends are sorted too: a call
// looks only at the views in its range (an x264 process holds ~690 views, mostly its libraries', and
// each of its mmaps copied and sorted all of them: ~57 us a view event). Arrays are replaced, never
// changed in place.

/** The index of the first view that ends after addr. */
const firstViewEndingAfter = (views: readonly View[], addr: number): number => firstEndingAfter(views, addr, (v) => v.addr + v.len)

/** The views in [addr, end): the indexes [from, to). */
const within = (views: readonly View[], addr: number, end: number): [number, number] => {
  const from = firstViewEndingAfter(views, addr)
  let to = from
  while (to < views.length && views[to].addr < end) to++
  return [from, to]
}

/** Views with [addr, addr+len) removed; the parts outside survive with adjusted file offsets. The
 *  same array when nothing is mapped there. */
const carve = (w: World, views: View[], addr: number, len: number): View[] => {
  const end = addr + pageUp(len)
  const [from, to] = within(views, addr, end)
  if (from === to) return views
  const out = views.slice(0, from)
  for (let i = from; i < to; i++) {
    const v = views[i]
    const vEnd = v.addr + v.len
    const node = w.nodes.get(v.node)
    let pieces = 0
    if (v.addr < addr) {
      out.push({ ...v, len: addr - v.addr })
      pieces++
    }
    if (vEnd > end) {
      out.push({ ...v, addr: end, len: vEnd - end, offset: v.offset + (end - v.addr) })
      pieces++
    }
    if (node !== undefined) {
      node.views += pieces - 1
      releaseIfUnused(w, node)
    }
  }
  for (let i = to; i < views.length; i++) out.push(views[i])
  return out
}

/** views (nothing mapped in [addr, ...) where `added` goes) with `added` (sorted) put in place. */
const insertAt = (views: readonly View[], addr: number, added: readonly View[]): View[] => {
  const at = firstViewEndingAfter(views, addr)
  return [...views.slice(0, at), ...added, ...views.slice(at)]
}

export const mapView = (w: World, p: Proc, v: View): void => {
  const carved = carve(w, p.views, v.addr, v.len)
  const node = w.nodes.get(v.node)
  if (node !== undefined) node.views++
  p.views = insertAt(carved, v.addr, [{ ...v, len: pageUp(v.len) }])
}

/** The file ranges behind p's shared views in [addr, addr+len) (what MADV_REMOVE frees). */
export const sharedRanges = (p: Proc, addr: number, len: number): Array<{ readonly node: number; readonly offset: number; readonly len: number }> => {
  const end = addr + pageUp(len)
  return p.views.filter((v) => v.shared && v.addr < end && v.addr + v.len > addr).map((v) => {
    const [lo, hi] = [Math.max(addr, v.addr), Math.min(end, v.addr + v.len)]
    return { node: v.node, offset: v.offset + (lo - v.addr), len: hi - lo }
  })
}

export const unmapView = (w: World, p: Proc, addr: number, len: number): void => {
  p.views = carve(w, p.views, addr, len)
}

/** mremap: shrinking in place unmaps the tail, whatever it holds. Growing takes one mapping, the
 *  one at addr (the kernel refuses more; an old size of 0 makes a second view of a shared one). A
 *  move takes every mapping in the pages kept, each keeping its place among them (since Linux 6.17
 *  one call may move several). What arrives replaces what was at the new place, anonymous memory too
 *  (only file views are tracked). */
export const remapView = (w: World, p: Proc, addr: number, len: number, newAddr: number, newLen: number): void => {
  const [oldSize, newSize] = [pageUp(len), pageUp(newLen)]
  if (newAddr === addr && newSize <= oldSize) {
    p.views = carve(w, p.views, addr + newSize, oldSize - newSize)
    return
  }
  let moved: View[]
  if (newSize > oldSize) {
    const v = p.views.find((x) => x.addr <= addr && addr < x.addr + x.len)
    moved = v === undefined ? [] : [{ ...v, addr: newAddr, len: newSize, offset: v.offset + (addr - v.addr) }]
  } else {
    moved = p.views
      .filter((v) => v.addr < addr + newSize && v.addr + v.len > addr)
      .map((v) => {
        const [s, e] = [Math.max(v.addr, addr), Math.min(v.addr + v.len, addr + newSize)]
        return { ...v, addr: newAddr + (s - addr), len: e - s, offset: v.offset + (s - v.addr) }
      })
  }
  for (const v of moved) {
    const node = w.nodes.get(v.node)
    if (node !== undefined) node.views++ // before the carves, which may drop the last of the old pieces
  }
  // moved is in address order and lands where the second carve left nothing
  p.views = insertAt(carve(w, carve(w, p.views, addr, len), newAddr, newLen), newAddr, moved)
}

export const protectView = (w: World, p: Proc, addr: number, len: number, prot: number): void => {
  const end = addr + pageUp(len)
  const [from, to] = within(p.views, addr, end)
  if (from === to) return
  const changed = p.views.slice(from, to).map((v) => {
    const s = Math.max(v.addr, addr)
    const e = Math.min(v.addr + v.len, end)
    return { ...v, addr: s, len: e - s, offset: v.offset + (s - v.addr), prot }
  })
  for (const v of changed) {
    const node = w.nodes.get(v.node)
    if (node !== undefined) node.views++
  }
  p.views = insertAt(carve(w, p.views, addr, len), addr, changed)
}
