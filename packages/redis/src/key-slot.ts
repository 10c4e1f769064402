// Redis Cluster key slots (cluster spec: CRC16-XMODEM of the key, or of its hash tag, mod
// 16384), used to put a key's version in the same slot as the key so that one script can
// touch both (a multi-key script across slots fails with CROSSSLOT).

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number);
  }
  return crc;
}

const encoder = new TextEncoder();

/** The Cluster slot of `key`: its hash tag (`{...}`, when non-empty) decides, else the key. */
export function keySlot(key: string): number {
  const bytes = encoder.encode(key);
  const open = bytes.indexOf(0x7b); // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(bytes, open + 1, close) & 16383;
  }
  return crc16(bytes, 0, bytes.length) & 16383;
}

let slotTags: string[] | undefined;

/**
 * A short string whose slot is `slot`, to use as a hash tag (`{tag}`). The table of all
 * 16384 is built on first use (about 170,000 CRCs of 1-4 characters, a few milliseconds).
 */
export function slotTag(slot: number): string {
  if (slotTags === undefined) {
    const tags = new Array<string>(16384);
    let missing = 16384;
    for (let i = 0; missing > 0; i++) {
      const tag = i.toString(36);
      const s = keySlot(tag);
      if (tags[s] === undefined) {
        tags[s] = tag;
        missing--;
      }
    }
    slotTags = tags;
  }
  return slotTags[slot] as string;
}
