/** `import asyncify from 'unplugin-asyncify/vite'` */
import { unplugin } from './index.js'

export default unplugin.vite
