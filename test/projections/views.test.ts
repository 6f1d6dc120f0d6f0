// The views projection against a model of pages: random maps (each replacing what it overlaps, as
// MAP_FIXED does), unmaps and protects over a few pages of address space; after each, the views are
// sorted, disjoint, and say for every page what the model says (file, offset, prot, shared).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { emptyWorld, type View } from '../../src/projections/index.js'
import { procOf } from '../../src/projections/procs.js'
import { mapView, protectView, unmapView } from '../../src/projections/views.js'

const PAGE = 4096
const PAGES = 24

type Op =
  | { readonly op: 'map'; readonly page: number; readonly pages: number; readonly node: number; readonly offset: number; readonly prot: number; readonly shared: boolean }
  | { readonly op: 'unmap' | 'protect'; readonly page: number; readonly pages: number; readonly prot: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('map' as const), page: fc.nat(PAGES - 1), pages: fc.integer({ min: 1, max: 8 }), node: fc.integer({ min: 1000, max: 1003 }), offset: fc.nat(16), prot: fc.nat(7), shared: fc.boolean() }),
  fc.record({ op: fc.constantFrom('unmap' as const, 'protect' as const), page: fc.nat(PAGES - 1), pages: fc.integer({ min: 1, max: 8 }), prot: fc.nat(7) }),
)

/** What each mapped page holds: [node, file page, prot, shared]. */
type Model = Map<number, readonly [number, number, number, boolean]>

const pagesOf = (views: readonly View[]): Model => {
  const m: Model = new Map()
  for (const v of views)
    for (let a = v.addr; a < v.addr + v.len; a += PAGE) m.set(a / PAGE, [v.node, (v.offset + (a - v.addr)) / PAGE, v.prot, v.shared])
  return m
}

test('given random maps, unmaps and protects, then the views are sorted, disjoint, and hold what a model of pages holds', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const w = emptyWorld()
      const p = procOf(w, 1, 1)
      const model: Model = new Map()
      for (const o of ops) {
        const [addr, len] = [o.page * PAGE, o.pages * PAGE]
        if (o.op === 'map') {
          mapView(w, p, { addr, len, prot: o.prot, shared: o.shared, node: o.node, path: `/f${o.node}`, offset: o.offset * PAGE })
          for (let i = 0; i < o.pages; i++) model.set(o.page + i, [o.node, o.offset + i, o.prot, o.shared])
        } else if (o.op === 'unmap') {
          unmapView(w, p, addr, len)
          for (let i = 0; i < o.pages; i++) model.delete(o.page + i)
        } else {
          protectView(w, p, addr, len, o.prot)
          for (let i = 0; i < o.pages; i++) {
            const was = model.get(o.page + i)
            if (was !== undefined) model.set(o.page + i, [was[0], was[1], o.prot, was[3]])
          }
        }
        for (let i = 1; i < p.views.length; i++) assert.ok(p.views[i - 1].addr + p.views[i - 1].len <= p.views[i].addr, `views out of order or overlapping after ${JSON.stringify(o)}`)
        assert.deepEqual([...pagesOf(p.views)].sort((a, b) => a[0] - b[0]), [...model].sort((a, b) => a[0] - b[0]), `after ${JSON.stringify(o)}`)
      }
    }),
    { numRuns: 300 },
  )
})
