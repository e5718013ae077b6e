import type { Schedule } from '@elbo/core';
import { DSPRITES_SIZE } from '@elbo/datasets';
import { BURDA_EPOCHS, burdaStepSchedule, scaledWarmupSteps } from './schedule';

/** What a run of a protocol is given: its length and the data's batches per epoch. */
export interface Budget {
  /** Epochs run (at most the protocol's; dSprites: enough epochs to hold `steps`). */
  epochs: number;
  /** Optimiser steps run, where the protocol counts steps (dSprites). */
  steps?: number;
  /** Batches per epoch of the training data actually used. */
  stepsPerEpoch: number;
  /** Training examples per epoch. */
  trainCount: number;
}

/** Weights a user may change from the command line (one name per meaning). */
export interface ProtocolWeights {
  /** beta-VAE's KL weight (--kl-weight). */
  klWeight?: number;
  /** beta-TCVAE's total-correlation weight (--tc-weight). */
  tcWeight?: number;
}

export type ProtocolEvaluation =
  | { kind: 'nll'; samples: number }
  | { kind: 'disentanglement'; migPoints: number; sapTrain: number; sapTest: number };

/** A published figure the run is compared with. */
export interface PaperFigure {
  value: number;
  metric: string;
  /** Where in the paper. */
  where: string;
}

/**
 * A published training protocol, written as code: the model config (through
 * `createModel`), data, optimiser, batch size, learning-rate schedule, length
 * and evaluation, with the paper's figure. Everything here goes into the
 * run's protocol.json.
 */
export interface Protocol {
  name: string;
  /** Paper, authors, year, venue. */
  source: string;
  /** The architecture in words, as the paper gives it. */
  architecture: string;
  data: 'mnist' | 'dsprites';
  /** How training images become {0, 1}. */
  binarization: string;
  batchSize: number;
  adam: { beta1: number; beta2: number; epsilon: number };
  /** The learning-rate schedule in words. */
  learningRateText: string;
  /** Epochs of the full protocol (MNIST protocols). */
  fullEpochs?: number;
  /** Optimiser steps of the full protocol (dSprites protocols). */
  fullSteps?: number;
  /** Whether a shorter run is a prefix of the full run (its checkpoint can be resumed into a longer run). */
  prefixSchedule: boolean;
  evaluation: ProtocolEvaluation;
  paper?: PaperFigure;
  /** Where elbo's run differs from the paper, said plainly. */
  differences: string[];
  /** Weights the command line may set, with their protocol defaults. */
  weights: ProtocolWeights;
  /** Whether the PyTorch reference script (scripts/torch_reproduce.py) implements this protocol too. */
  pytorch: boolean;
  /** The script's model and optimisation arguments for this budget (with `pytorch`). */
  torchArgs?(budget: Budget): string[];
  /** The model config `createModel` builds for this seed and budget. */
  config(seed: number, budget: Budget, weights: ProtocolWeights): Record<string, unknown>;
  /** The learning rate (a number or a schedule of the global step) for this budget. */
  learningRate(budget: Budget): number | Schedule;
  /** What of the schedule depends on the budget, for the printed protocol line (empty when nothing does). */
  budgetNote(budget: Budget): string;
}

/** How the MNIST protocols binarise: Burda et al.'s and Sønderby et al.'s dynamic binarisation. */
const MNIST_BINARIZATION = 'dynamic (a fresh Bernoulli draw of every training pixel each epoch); test images binarised once by a fixed Bernoulli draw';

const BURDA_SOURCE = 'Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", ICLR 2016, arXiv:1509.00519, section 5 and Table 1';

/**
 * Burda et al.'s one-stochastic-layer MNIST model (section 5): encoder and
 * decoder MLPs 784-200-200 with tanh, 50 Gaussian latents, Bernoulli
 * likelihood; dynamically binarised MNIST; Adam (0.9, 0.999, 1e-4), batch 20;
 * 3^i epochs at 1e-3 * 10^(-i/7) for i = 0..7 (3,280 epochs); test NLL by
 * importance sampling with k = 5000. Trained on the ELBO (k = 1) or on the IWAE
 * bound with k samples.
 */
function burda(name: string, k: number, paperNll: number, paperColumn: string): Protocol {
  return {
    name,
    source: BURDA_SOURCE,
    architecture: 'MLP 784-200-200-50 encoder and 50-200-200-784 decoder, tanh, diagonal Gaussian q(z|x), Bernoulli p(x|z)',
    data: 'mnist',
    binarization: MNIST_BINARIZATION,
    batchSize: 20,
    adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-4 },
    learningRateText: '3^i epochs at 1e-3 * 10^(-i/7) for i = 0..7 (3,280 epochs); a shorter run uses the first epochs of it',
    fullEpochs: BURDA_EPOCHS,
    prefixSchedule: true,
    evaluation: { kind: 'nll', samples: 5000 },
    paper: { value: paperNll, metric: 'test NLL (nats, k = 5000)', where: `Table 1, MNIST, one stochastic layer, ${paperColumn}` },
    differences: [
      "weights start from PyTorch's default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in))), not the paper's heuristic of Glorot & Bengio (2010)",
      "the encoder's Gaussian heads give log-variances through a linear layer (elbo's vae); the paper's parameterisation of the scale may differ",
    ],
    weights: {},
    pytorch: true,
    torchArgs: () => ['--model', 'vae', '--schedule', 'burda', '--lr', '1e-3', '--adam-eps', '1e-4', '--iwae-samples', String(k)],
    config: (seed) => ({
      variant: 'vae',
      architecture: 'mlp',
      inputShape: [784],
      hiddenDims: [200, 200],
      activation: 'tanh',
      latentDim: 50,
      batchNorm: false,
      likelihood: 'bernoulli',
      klWeight: 1,
      iwaeSamples: k,
      seed,
    }),
    learningRate: (budget) => burdaStepSchedule(budget.stepsPerEpoch),
    budgetNote: () => '',
  };
}

/** Sønderby et al.'s warm-up: the KL weight rises linearly from 0 to 1 over the first 200 of 2,000 epochs. */
export const LADDER_EPOCHS = 2000;
export const LADDER_WARMUP_EPOCHS = 200;
const LADDER_WARMUP_DIFFERENCE = 'the warm-up is linear in steps, not epochs; a run shorter than 2,000 epochs warms up over the same first 10% of its steps';

/** Warm-up steps of a ladder-protocol run of this budget (the paper's first 200 of 2,000 epochs, scaled). */
const ladderWarmupSteps = (budget: Budget) => scaledWarmupSteps(LADDER_WARMUP_EPOCHS, LADDER_EPOCHS, budget.epochs, budget.stepsPerEpoch);

/**
 * Sønderby, Raiko, Maaløe, Sønderby & Winther (2016), "Ladder Variational
 * Autoencoders", NIPS 2016, MNIST: five stochastic levels 64-32-16-8-4 over
 * deterministic blocks 512-256-128-64-32 of two dense layers each, batch norm,
 * leaky ReLU; dynamically binarised MNIST; Adam lr 0.002, batch 256, 2,000
 * epochs; KL warm-up over the first 200 epochs; test NLL with k = 5000.
 */
const ladder: Protocol = {
  name: 'ladder',
  source: 'Sønderby, Raiko, Maaløe, Sønderby & Winther (2016), "Ladder Variational Autoencoders", NIPS 2016, arXiv:1602.02282, section 3 and Table 1',
  architecture: 'ladder VAE: latent levels 64-32-16-8-4 (bottom-up), deterministic blocks 512-256-128-64-32 of 2 dense layers, batch norm, leaky ReLU, Bernoulli p(x|z1)',
  data: 'mnist',
  binarization: MNIST_BINARIZATION,
  batchSize: 256,
  adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  learningRateText: 'constant 0.002',
  fullEpochs: LADDER_EPOCHS,
  prefixSchedule: false,
  evaluation: { kind: 'nll', samples: 5000 },
  paper: { value: 81.74, metric: 'test NLL (nats, k = 5000)', where: 'Table 1, LVAE, 5 layers, batch normalisation and warm-up' },
  differences: [
    "elbo's hvae (variant 'hvae') is its own implementation of the ladder model; its block and merge details may differ from the authors' code",
    LADDER_WARMUP_DIFFERENCE,
  ],
  weights: {},
  pytorch: true,
  torchArgs: (budget) => [
    '--model', 'ladder', '--schedule', 'constant', '--lr', '0.002', '--adam-eps', '1e-8', '--iwae-samples', '1',
    '--warmup-steps', String(ladderWarmupSteps(budget)),
  ],
  config: (seed, budget) => ({
    variant: 'hvae',
    architecture: 'mlp',
    inputShape: [784],
    latentDims: [64, 32, 16, 8, 4],
    hiddenDims: [512, 256, 128, 64, 32],
    blockDepth: 2,
    batchNorm: true,
    activation: 'leakyRelu',
    likelihood: 'bernoulli',
    klWeight: { type: 'linear', annealSteps: ladderWarmupSteps(budget), weight: 1 },
    seed,
  }),
  learningRate: () => 0.002,
  budgetNote: (budget) => {
    const steps = ladderWarmupSteps(budget);
    const s = steps === 1 ? '1 step' : `${steps} steps`;
    return budget.epochs === LADDER_EPOCHS
      ? `KL warm-up over the first ${LADDER_WARMUP_EPOCHS} epochs (${s})`
      : `KL warm-up scaled to the first 10% of the run: ${s} (${(steps / budget.stepsPerEpoch).toFixed(1)} of ${budget.epochs} epochs; the paper: 200 of 2,000)`;
  },
};

/**
 * The one-stochastic-layer baseline of the ladder protocol: everything of
 * `ladder` (data, Adam 0.002, batch 256, the same scaled warm-up, evaluation)
 * with the hierarchy replaced by the ladder's bottom level alone, a VAE with
 * 64 latents over two dense layers of 512 units, leaky ReLU. Sønderby et al.
 * compare their ladder with such one-layer and plain multi-layer VAEs trained
 * the same way (section 3, Table 1 and Figure 4); this row is what the ladder
 * row must beat at an equal budget.
 */
const ladderOneLayer: Protocol = {
  ...ladder,
  name: 'ladder-1layer',
  architecture: 'VAE with one stochastic layer: MLP 784-512-512-64 encoder and 64-512-512-784 decoder, leaky ReLU, Bernoulli p(x|z) (the ladder bottom level alone)',
  paper: undefined,
  differences: [
    "elbo's MLP vae has no batch norm (the ladder's blocks have it)",
    LADDER_WARMUP_DIFFERENCE,
  ],
  pytorch: false,
  torchArgs: undefined,
  config: (seed, budget) => ({
    variant: 'vae',
    architecture: 'mlp',
    inputShape: [784],
    hiddenDims: [512, 512],
    latentDim: 64,
    activation: 'leakyRelu',
    likelihood: 'bernoulli',
    klWeight: { type: 'linear', annealSteps: ladderWarmupSteps(budget), weight: 1 },
    seed,
  }),
};

const LOCATELLO_SOURCE =
  'Locatello, Bauer, Lucic, Rätsch, Gelly, Schölkopf & Bachem (2019), "Challenging Common Assumptions in the Unsupervised Learning of Disentangled Representations", ICML 2019, arXiv:1811.12359, Table 2 and Appendix (disentanglement_lib unsupervised_study_v1)';

/** The conv networks of disentanglement_lib as close as elbo's conv blocks come, and what differs. */
const DSPRITES_NETWORK = {
  architecture: 'conv',
  inputShape: [64, 64, 1],
  convChannels: [32, 32, 64, 64],
  batchNorm: false,
  activation: 'relu',
  likelihood: 'bernoulli',
  latentDim: 10,
};
const DSPRITES_DIFFERENCES = [
  "elbo's conv blocks use 3x3 kernels (the protocol: 4x4, stride 2) and go from the last conv stage straight to the Gaussian heads (the protocol has a dense layer of 256 units between them, and the decoder a dense 256 layer before its transposed convolutions)",
  "dSprites comes from elbo's generator (@elbo/datasets DSprites): the same factor grid, sprites drawn from closed forms, not the original file's bitmaps",
  'the paper reports distributions over 50 seeds per setting (box plots), not one figure, so there is no single paper value to compare with',
];

function dsprites(name: string, variant: 'vae' | 'tcvae'): Protocol {
  const beta = variant === 'vae';
  return {
    name,
    source: LOCATELLO_SOURCE,
    architecture:
      'protocol: conv encoder 32-32-64-64 (4x4, stride 2), dense 256, 10 Gaussian latents; mirrored decoder, Bernoulli. elbo: conv 32-32-64-64 (3x3, stride 2), no dense 256 layer, 10 latents, Bernoulli',
    data: 'dsprites',
    binarization: 'none (dSprites pixels are 0/1)',
    batchSize: 64,
    adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    learningRateText: 'constant 1e-4',
    fullSteps: 300_000,
    prefixSchedule: true,
    evaluation: { kind: 'disentanglement', migPoints: 10_000, sapTrain: 10_000, sapTest: 5_000 },
    differences: DSPRITES_DIFFERENCES,
    weights: beta ? { klWeight: 4 } : { tcWeight: 6 },
    pytorch: false,
    config: (seed, _budget, weights) =>
      beta
        ? { variant: 'vae', ...DSPRITES_NETWORK, klWeight: weights.klWeight ?? 4, seed }
        : // beta-TCVAE as in disentanglement_lib: the KL with its total correlation weighted beta (mi and dimension-wise KL at 1).
          { variant: 'tcvae', ...DSPRITES_NETWORK, tcWeight: weights.tcWeight ?? 6, miWeight: 1, dimKlWeight: 1, datasetSize: DSPRITES_SIZE, seed },
    learningRate: () => 1e-4,
    budgetNote: () => '',
  };
}

/** The protocols `elbo-bench reproduce NAME` runs, by name. */
export const PROTOCOLS: Record<string, Protocol> = {
  'burda-vae': burda('burda-vae', 1, 86.76, 'VAE, k = 1'),
  'burda-iwae-k5': burda('burda-iwae-k5', 5, 85.54, 'IWAE, k = 5'),
  'burda-iwae-k50': burda('burda-iwae-k50', 50, 84.78, 'IWAE, k = 50'),
  ladder,
  'ladder-1layer': ladderOneLayer,
  'beta-vae-dsprites': dsprites('beta-vae-dsprites', 'vae'),
  'beta-tcvae-dsprites': dsprites('beta-tcvae-dsprites', 'tcvae'),
};

/** The allowed values of each protocol's weights (disentanglement_lib's unsupervised_study_v1 grid). */
export const WEIGHT_GRID: Record<string, { flag: 'kl-weight' | 'tc-weight'; values: number[] }> = {
  'beta-vae-dsprites': { flag: 'kl-weight', values: [1, 2, 4, 6, 8, 16] },
  'beta-tcvae-dsprites': { flag: 'tc-weight', values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
};

/** Everything of a protocol that is plain data (what protocol.json records). */
export function protocolRecord(p: Protocol): Record<string, unknown> {
  const { config: _c, learningRate: _l, budgetNote: _b, torchArgs: _t, ...rest } = p;
  return rest;
}
