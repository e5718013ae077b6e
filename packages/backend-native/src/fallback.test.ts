import { afterEach, describe, expect, it, vi } from 'vitest';

describe('when the addon cannot load', () => {
  afterEach(() => {
    delete process.env.ELBO_NATIVE_DISABLE;
    vi.resetModules();
  });

  it('importing does not throw; nativeAvailable() is false and nativeLoadError() says why; nothing is registered', async () => {
    process.env.ELBO_NATIVE_DISABLE = '1';
    vi.resetModules();
    const addon = await import('./native-addon');
    expect(addon.nativeAvailable()).toBe(false);
    expect(addon.nativeLoadError()?.message).toMatch(/ELBO_NATIVE_DISABLE/);
    expect(addon.nativeInfo()).toBeNull();
    expect(() => addon.requireAddon()).toThrow(/ELBO_NATIVE_DISABLE/);
    const backend = await import('./backend');
    expect(backend.registerNativeBackend()).toBe(false);
  });
});
