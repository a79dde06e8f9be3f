/** `import asyncify from 'unplugin-asyncify/rolldown'` */
import { unplugin } from './index.js'

export default unplugin.rolldown
