/** The few logging calls the demo makes; the tiercache packages take the same shape. */
export interface Logger {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

/**
 * `url` with its password replaced by `***` (`redis://app:***@host:6379`), for logs and
 * error messages. Text that is not a URL is returned as it is.
 */
export function redactUrl(url: string): string {
  return redactCredentials(url);
}

// scheme://user:password@ — the password part (up to the last @ before the host).
const CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s/]*@/gi;

/** Every `scheme://user:password@` in `text` with the password masked. */
export function redactCredentials(text: string): string {
  return text.replace(CREDENTIALS, '$1***@');
}

function format(meta: Record<string, unknown> | undefined): string {
  if (meta === undefined) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(meta)) {
    const value = v instanceof Error ? `${v.name}: ${v.message}` : v;
    parts.push(`${k}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

/**
 * One line per message on stderr (stdout stays free for what a script might parse), with a
 * time and a name such as `demo` or `api-2`. `quiet`: warnings and errors only.
 */
export function createLogger(
  name: string,
  options: { debug?: boolean; quiet?: boolean; write?: (line: string) => void } = {},
): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const line = (level: string, message: string, meta?: Record<string, unknown>) => {
    const time = new Date().toISOString().slice(11, 23);
    // Last line of defence: a connection string that reached a message or an error loses
    // its password here.
    write(redactCredentials(`${time} ${level.padEnd(5)} [${name}] ${message}${format(meta)}`));
  };
  return {
    info: (m, meta) => {
      if (options.quiet !== true) line('info', m, meta);
    },
    warn: (m, meta) => line('warn', m, meta),
    error: (m, meta) => line('error', m, meta),
    debug: (m, meta) => {
      if (options.debug === true) line('debug', m, meta);
    },
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
};
