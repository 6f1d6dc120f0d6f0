// A generated C project for the `make -j2` workload: `units` translation units of real code (loops,
// switches, structs, string formatting, qsort) whose functions call functions of lower-numbered units
// through a shared header (a call DAG, no recursion), a main.c and a
// Makefile. Deterministic in (units, functions, seed).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { below, seeded, type Random } from './random.js'

export interface CProjectSize { readonly units: number; readonly functions: number }

const fn = (u: number, f: number) => `u${String(u).padStart(3, '0')}_f${f}`

const header = (size: CProjectSize): string => {
  const lines = [
    '#ifndef PROJ_H', '#define PROJ_H', '#include <stddef.h>', '',
    'struct cell { long key; double weight; char tag[24]; struct cell *next; };',
    'struct grid { int rows, cols; long data[16][16]; };', '',
    'static inline long mix(long a, long b) { a ^= b + 0x9e3779b97f4a7c15L + (a << 6) + (a >> 2); return a; }',
    'static inline int cmp_long(const void *x, const void *y) { long a = *(const long *)x, b = *(const long *)y; return (a > b) - (a < b); }',
    '',
  ]
  for (let u = 0; u < size.units; u++) for (let f = 0; f < size.functions; f++) lines.push(`long ${fn(u, f)}(long x, struct grid *g);`)
  lines.push('', '#endif', '')
  return lines.join('\n')
}

const body = (r: Random, u: number, f: number, size: CProjectSize): string => {
  const k = [1 + below(r, 97), 3 + below(r, 1013), 1 + below(r, 31), 2 + below(r, 13)]
  const calls: string[] = []
  if (u > 0) for (let c = 0; c < 2; c++) calls.push(`  acc = mix(acc, ${fn(below(r, u), below(r, size.functions))}(acc & 0xff, g));`)
  else if (f > 0) calls.push(`  acc = mix(acc, ${fn(u, below(r, f))}(acc & 0x7f, g));`)
  const variant = below(r, 4)
  const work = variant === 0 ? [
    '  long v[32];',
    `  for (int i = 0; i < 32; i++) v[i] = mix(acc, i * ${k[1]}L) % ${k[0] * 1000};`,
    '  qsort(v, 32, sizeof v[0], cmp_long);',
    '  for (int i = 0; i < 32; i += 2) acc += v[i] - v[i + 1];',
  ] : variant === 1 ? [
    '  struct cell cells[8];',
    '  for (int i = 0; i < 8; i++) {',
    `    cells[i].key = acc + i * ${k[2]};`,
    `    cells[i].weight = (double)(acc % ${k[1]}) / ${k[3]}.0;`,
    `    snprintf(cells[i].tag, sizeof cells[i].tag, "${fn(u, f)}-%d-%ld", i, cells[i].key % ${k[1]});`,
    '    cells[i].next = i > 0 ? &cells[i - 1] : NULL;',
    '  }',
    '  for (struct cell *c = &cells[7]; c != NULL; c = c->next) acc += (long)(c->weight * 10) + (long)strlen(c->tag);',
  ] : variant === 2 ? [
    '  for (int i = 0; i < g->rows; i++)',
    '    for (int j = 0; j < g->cols; j++)',
    `      switch ((i * ${k[2]} + j + acc) & 3) {`,
    `      case 0: g->data[i][j] += acc >> ${k[3]}; break;`,
    `      case 1: g->data[i][j] ^= ${k[1]}L * j; break;`,
    '      case 2: g->data[i][j] = mix(g->data[i][j], i); break;',
    '      default: acc += g->data[i][j] & 0xffff;',
    '      }',
  ] : [
    '  char buf[96];',
    `  int n = snprintf(buf, sizeof buf, "%ld:%ld:%s", acc, x * ${k[0]}L, "${fn(u, f)}");`,
    '  for (int i = 0; i < n; i++) acc = acc * 31 + (unsigned char)buf[i];',
    `  if (acc % ${k[3]} == 0) acc = -acc;`,
  ]
  return [
    `long ${fn(u, f)}(long x, struct grid *g) {`,
    `  long acc = mix(x, ${k[0]}L * ${u * 1000 + f});`,
    ...work,
    ...calls,
    '  return acc;',
    '}',
    '',
  ].join('\n')
}

const MAKEFILE = [
  'CC ?= cc',
  'CFLAGS ?= -O2 -Wall -pipe',
  'SRCS := $(sort $(wildcard src/*.c))',
  'OBJS := $(SRCS:.c=.o)',
  '',
  'app: $(OBJS)',
  '\t$(CC) -o $@ $(OBJS)',
  '',
  'src/%.o: src/%.c include/proj.h',
  '\t$(CC) $(CFLAGS) -Iinclude -c $< -o $@',
  '',
  'clean:',
  '\trm -f app $(OBJS)',
  '',
].join('\n')

/** Writes the project under `dir`; returns the number of translation units (main.c included). */
export const writeCProject = (dir: string, size: CProjectSize, seed = 50): number => {
  const r = seeded(seed)
  mkdirSync(join(dir, 'src'), { recursive: true })
  mkdirSync(join(dir, 'include'), { recursive: true })
  writeFileSync(join(dir, 'include', 'proj.h'), header(size))
  writeFileSync(join(dir, 'Makefile'), MAKEFILE)
  for (let u = 0; u < size.units; u++) {
    const parts = ['#include <stdio.h>', '#include <stdlib.h>', '#include <string.h>', '#include "proj.h"', '']
    for (let f = 0; f < size.functions; f++) parts.push(body(r, u, f, size))
    writeFileSync(join(dir, 'src', `u${String(u).padStart(3, '0')}.c`), parts.join('\n'))
  }
  const main = [
    '#include <stdio.h>', '#include "proj.h"', '',
    'int main(void) {',
    '  static struct grid g = { 16, 16, { { 0 } } };',
    '  long acc = 0;',
    `  for (int f = 0; f < ${Math.min(4, size.functions)}; f++) acc ^= ${fn(size.units - 1, 0)}(f, &g);`,
    '  printf("%ld\\n", acc);',
    '  return 0;',
    '}', '',
  ]
  writeFileSync(join(dir, 'src', 'main.c'), main.join('\n'))
  return size.units + 1
}
