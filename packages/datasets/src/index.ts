/**
 * @elbo/datasets: real data for elbo. IDX files (MNIST, Fashion-MNIST, any
 * IDX set), a dSprites generator, PNG image folders, and seeded `BatchSource`s
 * that create tensors lazily, one batch at a time. Node only (reads files).
 * No side effects: nothing registers.
 */
export * from './idx';
export * from './image-dataset';
export * from './binarize';
export * from './mnist';
export * from './batch-source';
export * from './dsprites';
export * from './dsprites-source';
export * from './resize';
export * from './image-folder';
