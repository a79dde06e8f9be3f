// Debian's Chromium as the browser tests launch it (playwright-core, never a downloaded browser): the
// flags this machine needs — without the background-networking ones the closed network floods it with
// refused connections.
export const CHROMIUM = '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
