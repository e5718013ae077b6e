// The variants the zoo's models use, imported for their registration with core's registry.
import '@elbo/vae';
import '@elbo/cvae';
import '@elbo/vqvae';
import '@elbo/hvae';
import '@elbo/tcvae';

export type { DataSpec, EvaluationSpec, ModelCard, PretrainedFile } from './card';
export { type LoadPretrainedOptions, listPretrained, loadPretrained, pretrainedCard, pretrainedNames } from './load';
export { sha256Hex } from './sha256';
