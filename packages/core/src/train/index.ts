export * from './optimizers';
export * from './callbacks';
export * from './fit';
export { fitOptionsSchema } from './options';
export { type LearningRateState, LearningRateSchedule } from './lr-schedule';
export { type ReduceLrOnPlateauOptions, reduceLrOnPlateau } from './reduce-lr-on-plateau';
export { type EarlyStoppingOptions, earlyStopping } from './early-stopping';
export * from './progress-bar';
export { SQUARED_NORMS_KERNEL, squaredNorms } from './step';
