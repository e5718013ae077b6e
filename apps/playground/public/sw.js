// Service worker of the elbo playground: precache the whole build on install (the list comes from
// precache-manifest.json, written by vite.config.ts at build time), then answer same-origin GETs
// from the cache first, so the app works offline once it has been loaded.
const MANIFEST = 'precache-manifest.json';

async function readManifest() {
  const response = await fetch(MANIFEST, { cache: 'no-store' });
  if (!response.ok) throw new Error(`sw: ${MANIFEST} answered ${response.status}`);
  return response.json();
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const { version, files } = await readManifest();
      const cache = await caches.open(`elbo-playground-${version}`);
      await cache.addAll(['./', ...files]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const { version } = await readManifest().catch(() => ({ version: null }));
      // Drop the caches of older builds.
      if (version !== null) {
        for (const key of await caches.keys()) if (key.startsWith('elbo-playground-') && key !== `elbo-playground-${version}`) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.endsWith(MANIFEST)) return;
  event.respondWith(
    (async () => {
      // ignoreSearch: "/?backend=webgl" is the same page as "/".
      const hit = await caches.match(event.request, { ignoreSearch: true });
      return hit ?? fetch(event.request);
    })(),
  );
});
