/**
 * Errors for bad input from outside the program: config files, checkpoints,
 * data files. Callers (the bench CLI, apps) catch `InputError` to report one
 * line instead of a stack trace; `file` and `field` say where the problem is.
 */
export interface InputErrorDetails {
  /** The file (or URL, or store key) the bad input came from. */
  file?: string;
  /** The field inside it (a JSON path, a header field, a config key). */
  field?: string;
}

/** Bad input from outside the program; the message names the problem. */
export class InputError extends Error {
  readonly file?: string;
  readonly field?: string;

  constructor(message: string, details: InputErrorDetails = {}) {
    super(message);
    this.name = 'InputError';
    if (details.file !== undefined) this.file = details.file;
    if (details.field !== undefined) this.field = details.field;
  }
}

/** A checkpoint (manifest, weight shards, stored config) that cannot be loaded. */
export class CheckpointError extends InputError {
  constructor(message: string, details: InputErrorDetails = {}) {
    super(message, details);
    this.name = 'CheckpointError';
  }
}

/** A data file (IDX, image folder, labels CSV, dataset archive) that cannot be read. */
export class DataFormatError extends InputError {
  constructor(message: string, details: InputErrorDetails = {}) {
    super(message, details);
    this.name = 'DataFormatError';
  }
}
