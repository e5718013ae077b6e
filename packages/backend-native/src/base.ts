/**
 * Pure exports of @elbo/backend-native. `index.ts` adds the side effect:
 * registering tfjs backend 'native' when the addon loads.
 */
export { nativeAvailable, nativeLoadError, nativeInfo, nativeLoadSummary, type NativeInfo } from './native-addon';
export { NATIVE_BACKEND_NAME, NATIVE_BACKEND_PRIORITY, NATIVE_CORE_KERNEL_NAMES, NATIVE_KERNEL_NAMES, NativeBackend, registerNativeBackend } from './backend';
export { nativeGemm, setGemmKernel } from './gemm';
export { fusedAdamUpdate, type FusedAdamOptions } from './adam';
