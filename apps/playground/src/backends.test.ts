import { describe, expect, it } from 'vitest';
import { failingBackends, fallbackOrder } from './backends';

describe('backend fallback order', () => {
  it('tries every backend fastest first without a choice', () => {
    expect(fallbackOrder(null)).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(fallbackOrder('nonsense')).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });

  it('starts from the chosen backend, then the ones after it, then the ones before', () => {
    expect(fallbackOrder('webgl')).toEqual(['webgl', 'wasm', 'cpu', 'webgpu']);
    expect(fallbackOrder('cpu')).toEqual(['cpu', 'webgpu', 'webgl', 'wasm']);
  });

  it('reads ?failBackend= as a comma list of known backends', () => {
    expect([...failingBackends('?failBackend=webgl')]).toEqual(['webgl']);
    expect([...failingBackends('?backend=wasm&failBackend=webgpu, webgl,bogus')]).toEqual(['webgpu', 'webgl']);
    expect(failingBackends('?backend=webgl').size).toBe(0);
  });
});
