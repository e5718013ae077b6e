/**
 * @elbo/metrics: evaluation metrics for elbo models. Pure functions (no
 * registrations): tensors or a GenerativeModel + data in, plain numbers out;
 * large evaluations run in batches and leave no tensors behind.
 */
export * from './data';
export * from './reconstruction/pixel-errors';
export * from './reconstruction/ssim';
export * from './reconstruction/lpips';
export * from './likelihood/importance-sampling';
export * from './likelihood/latent-usage';
export * from './generation/frechet';
export * from './generation/fid';
export * from './generation/precision-recall';
export * from './generation/sources';
export * from './features/feature-extractor';
export * from './features/patch-ops';
export * from './features/im2col-conv2d';
export * from './features/mnist-classifier';
export * from './features/classifier-io';
export * from './features/load-mnist-classifier';
export * from './disentanglement/columns';
export * from './disentanglement/mutual-information';
export * from './disentanglement/mig';
export * from './disentanglement/linear-svm-1d';
export * from './disentanglement/sap';
