// tfjs-backend-cpu registers backend 'cpu' and its kernels, which 'native' copies.
import '@tensorflow/tfjs-backend-cpu';
import { registerNativeBackend } from './backend';

export * from './base';

registerNativeBackend();
