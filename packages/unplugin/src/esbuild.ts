/** `import asyncify from 'unplugin-asyncify/esbuild'` */
import { unplugin } from './index.js'

export default unplugin.esbuild
