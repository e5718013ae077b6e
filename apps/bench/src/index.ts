/** Programmatic entry of the bench (the CLI is cli.ts). */
export { runCommand, USAGE, QUICK_CONFIG } from './commands';
export { trainRun, type RunReport, type TrainRunOptions } from './train-run';
export { evaluateModel, type EvalResult } from './evaluate';
export { writeImageGrid, writeLinePlot } from './png';
export { UsageError } from './errors';
export { findVariantPackages, loadVariants, type DiscoveryResult } from './discover';
