import * as zlib from 'node:zlib';

/** A CRC-32 (IEEE 802.3, the one gzip and zlib use) of `data`, as an unsigned integer. */
export type Crc32 = (data: Uint8Array) => number;

let table: Uint32Array | undefined;

/**
 * Table-driven CRC-32 for Node versions without `zlib.crc32` (added in 20.15; the package
 * supports 20.11). Only brotli payloads are checksummed, so this runs beside a brotli
 * decompression that costs far more.
 */
export const crc32Js: Crc32 = (data) => {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
};

// A namespace import, not `import { crc32 }`: a missing named export of a builtin would fail
// at link time on older Node instead of falling back.
const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 of `data`: native when Node has it, the JavaScript table otherwise. */
export const crc32: Crc32 = typeof native === 'function' ? (data) => native(data) : crc32Js;
