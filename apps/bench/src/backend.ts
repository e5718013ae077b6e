import { type BackendChoice, importOptional, useBackend } from '@elbo/core';

/**
 * Activate a backend for the bench. The native backend is a dependency of the
 * bench, imported here first so core's useBackend finds it registered (if its
 * addon cannot load, 'auto' falls back and says why).
 */
export async function selectBackend(name: string): Promise<BackendChoice> {
  let nativeError: string | undefined;
  if (name === 'auto' || name === 'native') {
    try {
      const native = await importOptional('@elbo/backend-native', () => import('@elbo/backend-native'));
      if (!native) nativeError = '@elbo/backend-native is not installed';
      else if (!native.nativeAvailable()) nativeError = `addon unavailable: ${native.nativeLoadError()?.message.split('\n')[0] ?? 'unknown reason'}`;
    } catch (e) {
      nativeError = (e as Error).message.split('\n')[0];
    }
  }
  try {
    const choice = await useBackend(name);
    if (nativeError && name === 'auto') choice.skipped.unshift({ name: 'native', reason: nativeError });
    return choice;
  } catch (e) {
    throw new Error(`${(e as Error).message}${nativeError ? ` (native: ${nativeError})` : ''}`);
  }
}
