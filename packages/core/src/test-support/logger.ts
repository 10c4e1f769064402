import type { CacheLogger } from '../options.js';

/** A logger that records lines instead of printing them. Test-only. */
export interface RecordingLogger extends CacheLogger {
  readonly lines: Array<{ level: 'warn' | 'error' | 'debug'; message: string; meta?: unknown }>;
}

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  return {
    lines,
    warn: (message, meta) => lines.push({ level: 'warn', message, meta }),
    error: (message, meta) => lines.push({ level: 'error', message, meta }),
    debug: (message, meta) => lines.push({ level: 'debug', message, meta }),
  };
}
