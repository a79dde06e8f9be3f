/** `import asyncify from 'unplugin-asyncify/webpack'` */
import { unplugin } from './index.js'

export default unplugin.webpack
