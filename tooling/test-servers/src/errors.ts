/**
 * A server binary (`redis-server`, `redis-cli`) could not be found. The message says how to
 * install it, because the person reading it is usually setting up a new machine or CI image.
 */
export class ServerNotFoundError extends Error {
  static readonly code = 'E_SERVER_NOT_FOUND';
  readonly code = ServerNotFoundError.code;
  override readonly name = 'ServerNotFoundError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A server did not become ready: it exited during startup, or did not answer before the
 * deadline. The message ends with the last lines the server printed.
 */
export class ServerStartError extends Error {
  static readonly code = 'E_SERVER_START';
  readonly code = ServerStartError.code;
  override readonly name = 'ServerStartError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An option passed to one of the `start*` functions is invalid; the message names it. */
export class InvalidOptionsError extends Error {
  static readonly code = 'E_INVALID_OPTIONS';
  readonly code = InvalidOptionsError.code;
  override readonly name = 'InvalidOptionsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * `text` with every occurrence of each secret (and of its URL-encoded form) replaced by
 * `***`, so an error quoting a server's output or command line never carries a password.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first: a secret that contains another must be masked whole.
  const forms = secrets
    .flatMap((s) => [s, encodeURIComponent(s)])
    .filter((s) => s !== '')
    .sort((a, b) => b.length - a.length);
  for (const secret of new Set(forms)) out = out.split(secret).join('***');
  return out;
}
