/** What `suite variants` hands each variant's bench module (src/variants/<name>.ts exports `run(ctx)`). */
export interface VariantContext {
  seed: number;
  epochs: number;
  trainLimit?: number;
  /** Folder for the module's PNG grids and files. */
  outDir: string;
  log: (line: string) => void;
}

/** What a variant's bench module returns: its headline numbers and the files it wrote. */
export interface VariantResult {
  metrics: Record<string, number>;
  files: string[];
}
