import { listVariants } from '@elbo/core';
import { loadVariants } from '../discover';
import { benchConfigFile, variantSuiteConfig } from '../suites';

type Config = Record<string, unknown>;

interface SuiteConfigs {
  beta: { label: string; mnist: Config; klWeights: number[] };
  arch: { rows: Array<[string, Config]> };
  latent: { mnist: Config; latentDims: number[] };
}

/** The suites' budget, now over seeds: 5 epochs of all of MNIST, 3 seeds (flags override). */
const budget = { seeds: 3, epochs: 5 };

/**
 * The suite tables (`elbo-bench suite beta|arch|latent|variants`) as sweeps, built from the
 * suites' own configs (apps/bench/configs/suites.json, and for `variants` the config `suite
 * variants` trains each registered variant with). The sweeps cover the MNIST columns; the beta
 * suite's dSprites disentanglement rows stay with `suite beta`.
 */
export const BUILT_IN_SWEEPS: Record<string, () => Promise<Config>> = {
  beta: async () => {
    const s = benchConfigFile<SuiteConfigs>('suites.json').beta;
    return { name: 'beta', description: `${s.label}: KL weight against reconstruction and KL`, base: s.mnist, axes: { klWeight: s.klWeights }, ...budget };
  },
  latent: async () => {
    const s = benchConfigFile<SuiteConfigs>('suites.json').latent;
    return { name: 'latent', description: 'latent size', base: s.mnist, axes: { latentDim: s.latentDims }, ...budget };
  },
  arch: async () => {
    const s = benchConfigFile<SuiteConfigs>('suites.json').arch;
    return { name: 'arch', description: 'architecture', base: { variant: s.rows[0][1].variant }, axes: { architecture: Object.fromEntries(s.rows) }, ...budget };
  },
  variants: async () => {
    await loadVariants();
    const names = listVariants();
    const plan = { seed: 0, epochs: budget.epochs, trainCount: 60000, batchSize: 128 };
    const rows: Record<string, Config> = {};
    const left: string[] = [];
    for (const n of names) {
      try {
        rows[n] = variantSuiteConfig(n, plan);
      } catch (e) {
        // As in `suite variants`: a variant without an MNIST config is left out, and the report says why.
        left.push(`${n} (${(e as Error).message.split('\n')[0]})`);
      }
    }
    const description = `every registered variant with its suite config${left.length ? `; left out: ${left.join('; ')}` : ''}`;
    return { name: 'variants', description, base: { variant: Object.keys(rows)[0] ?? names[0] }, axes: { variant: rows }, ...budget };
  },
};
