/** A user error (bad flag, unknown suite/variant, missing file): the CLI prints one line and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
