import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The dashboard: built into dist/web, which the relay serves at `/` (src/api/dashboard.ts). Hashed
 * file names under assets/ (cached immutable); no inline script, so `default-src 'self'` holds.
 * `npm run dev:web` proxies the API to a relay on :8080 for working on the pages.
 */
export default defineConfig({
  root: here('.'),
  base: '/',
  plugins: [preact()],
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // Inlined assets would be data: URLs; keep every asset a file of this origin.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(['/v1', '/docs'].map((p) => [p, 'http://127.0.0.1:8080'])),
  },
});
