import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

/** @elbo/zoo's models/ folder (one folder per pretrained model). */
const ZOO_MODELS = join(dirname(createRequire(import.meta.url).resolve('@elbo/zoo/package.json')), 'models');
/** The files loadPretrained fetches; the cards' text is bundled with @elbo/zoo's code. */
const ZOO_FILES = ['model.json', 'weights.bin'];

/** Every file under dir, as paths relative to root with forward slashes. */
function listFiles(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path, root) : [relative(root, path).split('\\').join('/')];
  });
}

/**
 * Writes precache-manifest.json: every emitted file (the zoo's models among
 * them) plus public/ (the MNIST asset), and a version hash of their contents, for public/sw.js. A dozen lines
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

/**
 * Serves @elbo/zoo's model files from the page's own origin under zoo/: the
 * dev server answers /zoo/<name>/<file> from the package, and a build emits
 * them as dist/zoo/<name>/<file> (so the precache list below includes them
 * and the views work offline). Nothing is fetched from another origin.
 */
function zooAssets(): Plugin {
  const names = () => readdirSync(ZOO_MODELS).filter((n) => statSync(join(ZOO_MODELS, n)).isDirectory());
  return {
    name: 'elbo-zoo-assets',
    configureServer(server) {
      server.middlewares.use('/zoo', (req, res, next) => {
        const [name, file] = decodeURIComponent((req.url ?? '').split('?')[0]).split('/').filter(Boolean);
        const path = join(ZOO_MODELS, name ?? '', file ?? '');
        if (!names().includes(name) || !ZOO_FILES.includes(file) || !existsSync(path)) return next();
        res.setHeader('content-type', file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
        res.end(readFileSync(path));
      });
    },
    generateBundle() {
      for (const name of names()) {
        for (const file of ZOO_FILES) this.emitFile({ type: 'asset', fileName: `zoo/${name}/${file}`, source: readFileSync(join(ZOO_MODELS, name, file)) });
      }
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
  // zooAssets first: its files are in the bundle when precacheManifest lists it.
  plugins: [zooAssets(), precacheManifest()],
});
