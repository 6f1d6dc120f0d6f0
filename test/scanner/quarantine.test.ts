// Quarantine as a user meets it: files moved aside with their record, `eyrie quarantine list` and
// `restore ID`, modes checked at every step.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { listQuarantine, quarantine, restoreQuarantine } from '../../src/scanner/quarantine.js'
import { eyrie } from '../support/cli.js'
import { tmp } from './support.js'

test('given a quarantined file, list shows it and restore puts it back with its bytes and mode', async () => {
  const root = await tmp('quar')
  const journal = join(root, 'journal')
  const path = join(root, 'work', 'tool')
  await mkdir(join(root, 'work'))
  const bytes = Buffer.from('#!/bin/sh\necho pretend this is bad\n')
  await writeFile(path, bytes, { mode: 0o750 })
  const rec = await quarantine(path, journal, { sha256: 'ab'.repeat(32), signature: 'Eyrie.Test.Marker.UNOFFICIAL', guest: 'g' })
  assert.equal(existsSync(path), false)
  assert.equal((await stat(join(journal, 'quarantine'))).mode & 0o777, 0o700)
  assert.equal((await stat(rec.to)).mode & 0o777, 0o600)
  assert.equal((await stat(join(journal, 'quarantine', `${rec.id}.json`))).mode & 0o777, 0o600)
  assert.equal(rec.mode, 0o750)

  const list = eyrie(['quarantine', 'list', '--json'], { journal })
  assert.equal(list.status, 0, list.stderr)
  const listed = JSON.parse(list.stdout)
  assert.deepEqual(listed.records.map((r: { id: string; path: string; signature: string }) => [r.id, r.path, r.signature]), [[rec.id, path, 'Eyrie.Test.Marker.UNOFFICIAL']])
  assert.match(eyrie(['quarantine', 'list'], { journal }).stdout, new RegExp(rec.id))

  // something new took the name meanwhile: restore refuses unless told
  await writeFile(path, 'newer')
  const refused = eyrie(['quarantine', 'restore', rec.id], { journal })
  assert.equal(refused.status, 1)
  assert.match(refused.stderr, /exists .*--force/)
  const ok = eyrie(['quarantine', 'restore', rec.id, '--force'], { journal })
  assert.equal(ok.status, 0, ok.stderr)
  assert.deepEqual(await readFile(path), bytes)
  assert.equal((await stat(path)).mode & 0o7777, 0o750)
  assert.deepEqual((await listQuarantine(journal)).records, [])
})

test('given restore --to, the file goes there; an unknown id is one clear line and exit 1', async () => {
  const root = await tmp('quar2')
  const journal = join(root, 'journal')
  const path = join(root, 'x.exe')
  await writeFile(path, 'MZ...', { mode: 0o644 })
  const rec = await quarantine(path, journal)
  const elsewhere = join(root, 'inspect', 'x.exe.sample')
  assert.equal(eyrie(['quarantine', 'restore', rec.id, '--to', elsewhere], { journal }).status, 0)
  assert.equal((await stat(elsewhere)).mode & 0o777, 0o644)
  assert.equal(existsSync(path), false)
  const bad = eyrie(['quarantine', 'restore', 'q-20990101T000000Z-00000000'], { journal })
  assert.equal(bad.status, 1)
  assert.match(bad.stderr, /^eyrie: no quarantine record q-20990101T000000Z-00000000/)
  assert.equal(bad.stderr.trim().split('\n').length, 1)
  await assert.rejects(restoreQuarantine(journal, '../../etc/passwd'), /no quarantine id/)
})

test('given a directory or a missing path, quarantine fails with the path named and moves nothing', async () => {
  const root = await tmp('quar3')
  await assert.rejects(quarantine(root, join(root, 'j')), /quarantine .*not a regular file/)
  await assert.rejects(quarantine(join(root, 'nope'), join(root, 'j')), /quarantine .*ENOENT/)
})
