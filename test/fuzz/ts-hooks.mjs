// Lets plain Node 26 run the TypeScript sources (`node --conditions=source --import ./ts-hooks.mjs`):
// Node strips the types itself; this maps the `.js` specifiers the sources use to their `.ts` files.
import { existsSync } from 'node:fs'
import { registerHooks } from 'node:module'
import { fileURLToPath } from 'node:url'

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context)
    } catch (e) {
      if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('/'))) {
        const url = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL)
        if (existsSync(fileURLToPath(url))) return next(url.href, context)
      }
      throw e
    }
  },
})
