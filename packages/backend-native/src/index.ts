// tfjs-backend-cpu registers backend 'cpu' and its kernels, which 'native' copies.
import '@tensorflow/tfjs-backend-cpu';
import { registerFusedAdamUpdate } from '@elbo/core';
import { fusedAdamUpdate } from './adam';
import { registerNativeBackend } from './backend';

export * from './base';

registerNativeBackend();
// core's Adam (used by fit) runs one native pass per variable while 'native' is active; the update
// honours the NaN guard's gate itself (no selects around it).
registerFusedAdamUpdate('native', fusedAdamUpdate, { gate: true });
