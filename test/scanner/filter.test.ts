// The open filter: the documented extension set, content magic, scan-all; the #! reader.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { DEFAULT_EXTENSION_SET, DEFAULT_EXTENSIONS, elfInterpreterOf, extensionOf, magicOf, matchByName, shebangOf, shouldScan } from '../../src/scanner/filter.js'

const none = new Uint8Array(0)

test('given the default set, then it holds the paper\'s 59 extensions in four groups, lower case and without dots', () => {
  assert.equal(DEFAULT_EXTENSION_SET.size, 59)
  assert.equal(Object.values(DEFAULT_EXTENSIONS).flat().length, 59, 'no extension listed twice')
  for (const e of DEFAULT_EXTENSION_SET) assert.match(e, /^[a-z0-9]+$/)
})

test('given names, then executables, libraries (versioned too), scripts, archives and documents are scanned, data is not', () => {
  for (const p of ['/a/setup.EXE', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/lib/libfoo.so.1.2.3', '/w/run.sh', '/w/x.py', '/w/a.tar', '/w/a.7z', '/w/r.docm', '/w/r.pdf', '/w/Main.class']) {
    assert.equal(matchByName(p).scan, true, p)
  }
  for (const p of ['/w/notes.txt', '/w/photo.jpg', '/w/.bashrc', '/w/Makefile', '/w/so', '/w/a.sox', '/w/dir.sh/data']) {
    assert.equal(matchByName(p).scan, false, p)
  }
})

test('given content magic, then ELF, #!, MZ and PK\\3\\4 are scanned whatever the name, other bytes are not', () => {
  const cases: Array<[number[], string | null]> = [
    [[0x7f, 0x45, 0x4c, 0x46, 2, 1], 'ELF'],
    [[0x23, 0x21, 0x2f], 'script (#!)'],
    [[0x4d, 0x5a, 0x90, 0], 'PE (MZ)'],
    [[0x50, 0x4b, 0x03, 0x04], 'ZIP (PK\\3\\4)'],
    [[0x50, 0x4b, 0x05, 0x06], null],
    [[0x7f, 0x45, 0x4c], null],
    [[0x23], null],
    [[], null],
  ]
  for (const [bytes, name] of cases) {
    assert.equal(magicOf(Uint8Array.from(bytes)), name, JSON.stringify(bytes))
    assert.equal(shouldScan('/w/data.bin.txt', Uint8Array.from(bytes)).scan, name !== null)
  }
})

test('given scanAll or a custom set, then the filter follows it', () => {
  assert.deepEqual(shouldScan('/w/photo.jpg', none, { scanAll: true }), { scan: true, why: 'scan-all' })
  assert.equal(shouldScan('/w/photo.jpg', none, { extensions: new Set(['jpg']) }).scan, true)
  assert.equal(shouldScan('/w/a.exe', none, { extensions: new Set(['jpg']) }).scan, false)
})

test('property: the filter only looks at the last name component and ignores case', () => {
  const ext = fc.constantFrom(...DEFAULT_EXTENSION_SET)
  const word = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/)
  fc.assert(fc.property(fc.array(word, { maxLength: 4 }), word, ext, fc.boolean(), (dirs, base, e, upper) => {
    const name = `${base}.${upper ? e.toUpperCase() : e}`
    assert.equal(matchByName(`/${[...dirs, name].join('/')}`).scan, true)
    assert.equal(extensionOf(`/${[...dirs, `${name}`, 'plain'].join('/')}`), '')
  }))
})

test('given #! lines, then the interpreter path is read as the kernel reads it', () => {
  const sb = (s: string) => shebangOf(Buffer.from(s))
  assert.equal(sb('#!/bin/sh\necho\n'), '/bin/sh')
  assert.equal(sb('#! /usr/bin/env python3\n'), '/usr/bin/env')
  assert.equal(sb('#!/usr/bin/perl -w'), '/usr/bin/perl')
  assert.equal(sb('#!\n'), null)
  assert.equal(sb('# comment\n'), null)
  assert.equal(sb('\x7fELF'), null)
})

test('given real programs, elfInterpreterOf names the interpreter the kernel loads with a dynamic one, none for a static one, and says how far to read when the head is short', () => {
  const dynamic = readFileSync('/usr/bin/true')
  assert.deepEqual(elfInterpreterOf(dynamic), { interp: '/lib64/ld-linux-x86-64.so.2', reaches: 0 })
  assert.deepEqual(elfInterpreterOf(readFileSync('/sbin/ldconfig')), { interp: null, reaches: 0 })
  const short = elfInterpreterOf(dynamic.subarray(0, 300))
  assert.equal(short.interp, null)
  assert.ok(short.reaches > 300, 'the interpreter lies past the first 300 bytes')
  assert.deepEqual(elfInterpreterOf(Buffer.from('#!/bin/sh\n')), { interp: null, reaches: 0 })
})
