import { defineConfig } from 'tsup';
import { packageOptions } from '../../tsup.base';

export default defineConfig(
  packageOptions({ index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' }, {
    // Bundle tfjs-core's gradient and chained-op registrations (extensionless ESM in the package).
    noExternal: [/@tensorflow\/tfjs-core\/dist\/(register_all_gradients|public\/chained_ops)/],
    // The testing entry imports '@elbo/core' by name and keeps that import, so it uses the main
    // entry's classes and registry instead of bundling second copies (instanceof works across them).
    external: ['@elbo/core'],
  }),
);
