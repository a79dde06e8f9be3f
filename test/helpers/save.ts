// Writing a watched file and waiting for the dev server to act on it.
import { writeFileSync } from 'node:fs'

/**
 * Writes `data` to `file` and waits for `seen`. Vite's watcher sometimes reports nothing for a write that
 * follows another by a few tens of milliseconds (with `DEBUG=vite:hmr` no file change is logged for it at
 * all; a second write of the same bytes is seen), so a write still unseen after 5 s is made again, at most
 * three times. What is tested is that the plugin serves each saved file, not that the watcher sees every
 * write.
 */
export async function saveUntilSeen<T>(
  file: string,
  data: string | Uint8Array,
  seen: (timeout: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    writeFileSync(file, data)
    try {
      return await seen(5_000)
    } catch (error) {
      if (attempt === 3) throw error
    }
  }
}
