// Rebuild zoo models from their recipes: node scripts/build-model.mjs NAME [NAME...]
// (pnpm --filter @elbo/zoo build-model NAME). Needs the package built (dist/build.js).
import { buildModel } from '../dist/build.js';

const names = process.argv.slice(2);
if (names.length === 0) {
  console.error('usage: build-model NAME [NAME...] (names: the files in recipes/)');
  process.exit(2);
}
for (const name of names) await buildModel(name);
