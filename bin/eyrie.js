#!/usr/bin/env node
// The eyrie command. TypeScript sources run through tsx's loader (a runtime dependency).
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv)
