// Built by `npm run build` (`vite build web`) into the package's dist/console, served by Onggi at /console/.
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  plugins: [preact()],
  // `npx vite web` serves the console with hot reload and passes API calls to an Onggi on the default address.
  server: {
    proxy: Object.fromEntries(['/identity', '/v1_ext', '/v1/', '/info'].map((path) => [path, 'http://127.0.0.1:8080'])),
  },
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    target: 'es2022',
    // Onggi gzips the files itself when it loads them; the report only adds noise to the build log.
    reportCompressedSize: false,
    rolldownOptions: {
      // The download service worker is its own script at a fixed address (/console/sw.js), loaded only on a first download.
      input: {
        index: fileURLToPath(new URL('index.html', import.meta.url)),
        sw: fileURLToPath(new URL('src/sw.ts', import.meta.url)),
      },
      output: {
        entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
});
