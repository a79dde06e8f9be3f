// A Vitest project of its own (run by ../vitest.test.ts), with the plugin, so that a test file can import
// `?asyncify` as an app's tests would.
import asyncify from 'unplugin-asyncify/vite'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [asyncify({ cache: process.env.ASYNCIFY_CACHE })],
  test: { include: ['**/*.spec.ts'], root: import.meta.dirname },
})
