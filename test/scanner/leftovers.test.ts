// Run directories of private clamds whose eyrie was killed outright are removed by the next one;
// those of running eyries, and fresh ones not yet claimed, stay.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { claim, RUN_DIR_PREFIX, sweep } from '../../src/scanner/leftovers.js'
import { tmp } from './support.js'

test('given run directories of a dead eyrie, a running one, an unclaimed fresh one and an unclaimed old one, when swept, then only the dead owner\'s and the old one go', async () => {
  const parent = await tmp('leftovers')
  const dir = (name: string) => {
    const d = join(parent, `${RUN_DIR_PREFIX}${name}`)
    mkdirSync(join(d, 'db'), { recursive: true })
    writeFileSync(join(d, 'db', 'main.hdb'), 'x')
    return d
  }
  // a process that has ended: its pid and start time name no running process
  const ended = spawnSync('sh', ['-c', 'echo $$ $(cut -d" " -f22 /proc/$$/stat)'], { encoding: 'utf8' }).stdout.trim()
  const dead = dir('dead')
  writeFileSync(join(dead, 'owner'), `${ended}\n`)
  const alive = dir('alive')
  await claim(alive)
  const reused = dir('reused') // our pid, another start time: the pid was reused
  writeFileSync(join(reused, 'owner'), `${process.pid} 1\n`)
  const fresh = dir('fresh')
  const old = dir('old')
  utimesSync(old, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000))
  const other = join(parent, 'not-ours')
  mkdirSync(other)

  const removed = await sweep(parent)
  assert.deepEqual(removed.sort(), [dead, old, reused].sort())
  for (const d of [dead, old, reused]) assert.equal(existsSync(d), false, d)
  for (const d of [alive, fresh, other]) assert.equal(existsSync(d), true, d)
  assert.deepEqual(await sweep(join(parent, 'missing')), [])
})
