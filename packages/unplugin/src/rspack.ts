/** `import asyncify from 'unplugin-asyncify/rspack'` */
import { unplugin } from './index.js'

export default unplugin.rspack
