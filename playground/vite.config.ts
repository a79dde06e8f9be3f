// The playground's Vite config: the asyncify plugin with each module's settings (src/wasm/modules.ts),
// and, in the dev server only, the endpoint the hot-reload panel's editor saves hot.wat through.
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import asyncify from 'unplugin-asyncify/vite'
import { defineConfig, type Plugin } from 'vite'
import { PLUGIN_MODULES } from './src/wasm/modules.js'

const HOT_WAT = fileURLToPath(new URL('./src/wasm/hot.wat', import.meta.url))
const MAX_SOURCE = 256 * 1024

/**
 * `PUT /__playground/hot.wat` writes the editor's text to src/wasm/hot.wat; the plugin's watcher does the rest.
 * `GET` reads it back: the page refreshes its editor from here after each hot update, because Vite's `?raw`
 * can read the file between an editor's truncate and its write and then miss the write's event.
 */
function hotWatEditor(): Plugin {
  return {
    name: 'playground:hot-wat-editor',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use('/__playground/hot.wat', (req, res) => {
        if (req.method === 'GET') {
          readFile(HOT_WAT, 'utf8').then(
            text => res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text),
            (e: Error) => res.writeHead(500).end(e.message),
          )
          return
        }
        if (req.method !== 'PUT') {
          res.writeHead(405, { allow: 'GET, PUT' }).end()
          return
        }
        const chunks: Buffer[] = []
        let size = 0
        req.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size <= MAX_SOURCE) chunks.push(chunk)
        })
        req.on('end', () => {
          if (size > MAX_SOURCE) {
            res.writeHead(413).end(`hot.wat is limited to ${MAX_SOURCE} bytes`)
            return
          }
          writeFile(HOT_WAT, Buffer.concat(chunks)).then(
            () => res.writeHead(204).end(),
            (e: Error) => res.writeHead(500).end(e.message),
          )
        })
      })
    },
  }
}

export default defineConfig({
  // No SPA fallback: a missing file is a 404 (the exceptions panel fetches one on purpose).
  appType: 'mpa',
  plugins: [asyncify({ modules: PLUGIN_MODULES }), hotWatEditor()],
})
