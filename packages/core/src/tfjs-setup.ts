/**
 * Side effects every elbo program needs: tfjs-core's gradient definitions, the
 * chained tensor methods (`x.reshape(...)`) and the always-available cpu backend.
 *
 * tfjs-core's Node entry registers no gradients, and the module that does is
 * extensionless ESM that plain Node cannot import; tsup bundles it into our
 * dist (see tsup.config.ts). tfjs keeps its engine and registries on
 * globalThis, so the bundled copy registers into the same engine as the
 * user's `@tensorflow/tfjs-core`. It also makes the tensors tfjs saves for
 * a gradient share their data instead of running a kernel each (see engine-tape.ts).
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-backend-cpu';
import { shareSavedTensors } from './engine-tape';

shareSavedTensors();
