/**
 * Register the service worker (public/sw.js) that precaches every file of the
 * build, so the playground (code, the backends' chunks and .wasm files, and
 * the MNIST asset) works offline after one visit. Dev mode (vite serve) has
 * no build manifest, so nothing is registered there.
 */
export function registerOfflineCache(): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`).catch((e: unknown) => {
    // Offline use is a bonus; the page works without it.
    console.warn(`elbo playground: offline cache unavailable: ${e instanceof Error ? e.message : String(e)}`);
  });
}
