/** `import asyncify from 'unplugin-asyncify/rollup'` */
import { unplugin } from './index.js'

export default unplugin.rollup
