// The web app's build: web/ -> dist/web, served by the server at / (src/http/web-app.ts).
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  resolve: {
    // the app talks to the server only through the SDK, compiled from its sources
    alias: { '@cairn/sdk': fileURLToPath(new URL('../packages/sdk/src/index.ts', import.meta.url)) }
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    // no inline scripts or data: modules: the CSP allows scripts from 'self' only
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false
  }
})
