// Built by `npm run build` (`vite build web`) into the package's dist/console, served by Onggi at /console/.
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  plugins: [preact()],
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    target: 'es2022',
    // Onggi gzips the files itself when it loads them; the report only adds noise to the build log.
    reportCompressedSize: false,
  },
});
