import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';

/** An error reply (`-ERR ...`) from Redis, returned as a value so the caller decides. */
export class RespError {
  constructor(readonly message: string) {}
}

/** A decoded RESP2 reply. */
export type RespValue = string | number | null | RespError | RespValue[];

/** Encodes one command as a RESP array of bulk strings (safe for any argument bytes). */
export function encodeCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

/**
 * Decodes the reply that starts at `offset`, or returns `undefined` when `buffer` does not
 * hold all of it yet.
 */
export function decodeReply(
  buffer: Buffer,
  offset = 0,
): { value: RespValue; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[offset] ?? 0);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: afterLine };
    case '-':
      return { value: new RespError(line), next: afterLine };
    case ':':
      return { value: Number(line), next: afterLine };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: afterLine };
      if (buffer.length < afterLine + length + 2) return undefined;
      return {
        value: buffer.toString('utf8', afterLine, afterLine + length),
        next: afterLine + length + 2,
      };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: afterLine };
      const items: RespValue[] = [];
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = decodeReply(buffer, next);
        if (item === undefined) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`Unexpected RESP type byte ${JSON.stringify(type)}.`);
  }
}

/** Where and how {@link sendCommands} connects. */
export interface RespTarget {
  host: string;
  port: number;
  /** Sent with AUTH before the commands when set. */
  password?: string | undefined;
  /** The ACL user AUTH names (`AUTH username password`); the default user when unset. */
  username?: string | undefined;
  /** Connect over TLS, trusting `ca` (and presenting `cert`/`key` when the server asks). */
  tls?: { ca: string; cert?: string | undefined; key?: string | undefined } | undefined;
}

/**
 * Opens a connection, sends the commands pipelined, and resolves with their replies
 * (AUTH's reply left out). Rejects on a connection error or when `timeoutMs` passes, e.g.
 * because the server is paused. A tiny client on purpose: readiness checks run while the
 * server may not exist yet, and must not depend on a client library's retry policy.
 */
export function sendCommands(
  target: RespTarget,
  commands: readonly (readonly string[])[],
  timeoutMs = 1000,
): Promise<RespValue[]> {
  const auth =
    target.password === undefined
      ? undefined
      : target.username === undefined
        ? ['AUTH', target.password]
        : ['AUTH', target.username, target.password];
  const all = auth === undefined ? commands : [auth, ...commands];
  return new Promise((resolve, reject) => {
    const tls = target.tls;
    const socket =
      tls === undefined
        ? connect({ host: target.host, port: target.port })
        : connectTls({
            host: target.host,
            port: target.port,
            ca: tls.ca,
            ...(tls.cert === undefined ? {} : { cert: tls.cert }),
            ...(tls.key === undefined ? {} : { key: tls.key }),
          });
    let buffer: Buffer = Buffer.alloc(0);
    const replies: RespValue[] = [];
    const timer = setTimeout(() => {
      finish(new Error(`No reply from ${target.host}:${target.port} within ${timeoutMs} ms.`));
    }, timeoutMs);

    function finish(error?: Error): void {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(auth === undefined ? replies : replies.slice(1));
    }

    // A TLS socket may only be written once the handshake is done.
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      socket.write(all.map(encodeCommand).join(''));
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      try {
        let decoded = decodeReply(buffer);
        while (decoded !== undefined) {
          replies.push(decoded.value);
          buffer = buffer.subarray(decoded.next);
          if (replies.length === all.length) return finish();
          decoded = decodeReply(buffer);
        }
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () => {
      if (replies.length < all.length) finish(new Error('Connection closed before all replies.'));
    });
  });
}

/** Parses `field:value` lines, as in INFO and CLUSTER INFO replies. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}
