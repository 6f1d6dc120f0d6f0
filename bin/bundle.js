// Runs the CLI's one-file build (dist/cli/eyrie.cjs, made by scripts/bundle.mjs) with V8's code cache
// beside it: `record -- true` ran in 146-174 ms against 216-239 ms from dist/'s modules
// (bench/startup.ts, medians of two runs; parsing and compiling ~100 modules was most of its
// start-up, and Node 20 has no compile cache of its own). A cache V8 does
// not accept (another Node) is ignored: the code compiles as it would without one.
import Module, { createRequire } from 'node:module'
import { existsSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import vm from 'node:vm'

export const cacheOf = (bundle) => `${bundle}.v8cache`

/** The bundle's exports, and its compiled script (scripts/bundle.mjs makes the cache from it). */
export const loadBundle = (bundle, { cache = true } = {}) => {
  const source = readFileSync(bundle, 'utf8')
  const cachedData = cache && existsSync(cacheOf(bundle)) ? readFileSync(cacheOf(bundle)) : undefined
  const script = new vm.Script(Module.wrap(source), {
    filename: bundle,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const module = { exports: {} }
  script.runInThisContext().call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle))
  return { exports: module.exports, script }
}
