import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

/** Every file under dir, as paths relative to root with forward slashes. */
function listFiles(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path, root) : [relative(root, path).split('\\').join('/')];
  });
}

/**
 * Writes precache-manifest.json: every emitted file plus public/ (the MNIST
 * asset), and a version hash of their contents, for public/sw.js. A dozen lines
 * here instead of vite-plugin-pwa, whose workbox-build brings a large toolchain
 * for what is one list of files.
 */
function precacheManifest(): Plugin {
  return {
    name: 'elbo-precache-manifest',
    apply: 'build',
    generateBundle(_options, bundle) {
      const hash = createHash('sha256');
      const emitted = Object.keys(bundle).sort();
      for (const name of emitted) {
        const item = bundle[name];
        hash.update(name).update(item.type === 'chunk' ? item.code : item.source);
      }
      const publicDir = join(import.meta.dirname, 'public');
      const fromPublic = listFiles(publicDir).filter((f) => f !== 'sw.js');
      for (const f of fromPublic) hash.update(f).update(readFileSync(join(publicDir, f)));
      const files = [...emitted.filter((f) => !f.endsWith('.map')), ...fromPublic].sort();
      this.emitFile({ type: 'asset', fileName: 'precache-manifest.json', source: JSON.stringify({ version: hash.digest('hex').slice(0, 16), files }, null, 1) });
    },
  };
}

export default defineConfig({
  // Relative asset URLs: the built app works from any path (a subfolder, a static host).
  base: './',
  resolve: {
    // One tfjs engine in the bundle, whichever package asked for it.
    dedupe: ['@tensorflow/tfjs-core'],
  },
  build: {
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 4096,
    // The playground, and the page `pnpm bench throughput --browser` measures with.
    rollupOptions: { input: { main: 'index.html', bench: 'bench.html' } },
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  plugins: [precacheManifest()],
});
