import { isDeepStrictEqual } from 'node:util';
import { importTiercache } from '../contenders.js';
import { batchSync, type Contender, type MeasureOptions, measure } from '../measure.js';
import {
  errorText,
  formatBytes,
  formatMicros,
  formatOps,
  formatRme,
  type Section,
  table,
} from '../report.js';
import { makePayload } from '../workload.js';

/** Payload sizes, KiB of JSON. */
const SIZES = [1, 10, 100] as const;

interface CodecLike {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

interface Variant {
  label: string;
  codec: CodecLike;
}

/** Plain JSON to a Buffer and back: what any codec adds is measured against this. */
const jsonReference: CodecLike = {
  encode: (value) => Buffer.from(JSON.stringify(value)),
  decode: (bytes) =>
    JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString()),
};

/**
 * Scenario 3: the value codec of `@tiercache/compression` on its own — encode and decode
 * time and encoded size for 1, 10 and 100 KiB JSON payloads, per compression setting.
 */
export async function codecScenario({
  measure: options,
}: {
  measure: MeasureOptions;
}): Promise<Section> {
  const title = 'Codec (@tiercache/compression): time and size';
  let createCodec: typeof import('@tiercache/compression').createCodec;
  try {
    ({ createCodec } = await importTiercache(
      '@tiercache/compression',
      () => import('@tiercache/compression'),
    ));
  } catch (error) {
    return { title, lines: [`Not run: ${errorText(error)}`], checks: [] };
  }

  const variants: Variant[] = [
    { label: 'JSON + Buffer.from (reference, no codec)', codec: jsonReference },
    {
      label: "compression: 'none', threshold: 0",
      codec: createCodec({ compression: 'none', threshold: 0 }),
    },
    {
      label: "compression: 'gzip', threshold: 0",
      codec: createCodec({ compression: 'gzip', threshold: 0 }),
    },
    {
      label: "compression: 'brotli', threshold: 0",
      codec: createCodec({ compression: 'brotli', threshold: 0 }),
    },
    {
      label: 'createCodec() (defaults: gzip, threshold 1024, minSavings 0.2)',
      codec: createCodec(),
    },
    {
      label: "compression: 'brotli', default threshold",
      codec: createCodec({ compression: 'brotli' }),
    },
  ];

  const contenders: Contender[] = [];
  const rows = new Map<
    string,
    { size: number; variant: Variant; jsonBytes: number; bytes: number }
  >();
  const problems: string[] = [];
  for (const size of SIZES) {
    const payload = makePayload(size);
    const jsonBytes = Buffer.byteLength(JSON.stringify(payload));
    for (const variant of variants) {
      const id = `${size} KiB ${variant.label}`;
      const encoded = variant.codec.encode(payload);
      if (!isDeepStrictEqual(variant.codec.decode(encoded), payload)) {
        problems.push(`${id}: decode(encode(v)) is not deep-equal to v`);
      }
      rows.set(id, { size, variant, jsonBytes, bytes: encoded.length });
      contenders.push(batchSync(`${id} encode`, () => variant.codec.encode(payload)));
      contenders.push(batchSync(`${id} decode`, () => variant.codec.decode(encoded)));
    }
  }
  const results = await measure(contenders, options);
  const byName = new Map(results.map((m) => [m.name, m]));

  const lines = [
    "Sync `encode`/`decode` of one payload per op (the async variants run the same work on libuv's threadpool). The 1 KiB payload is one agent record; 10 and 100 KiB are pages of them, whose repeated field names are what compression feeds on. Sizes include tiercache's header; 'stored as' tells whether the codec compressed or kept the bytes plain.",
    '',
  ];
  for (const size of SIZES) {
    const body: string[][] = [];
    let jsonBytes = 0;
    for (const [id, row] of rows) {
      if (row.size !== size) continue;
      jsonBytes = row.jsonBytes;
      const enc = byName.get(`${id} encode`);
      const dec = byName.get(`${id} decode`);
      if (!enc || !dec) continue;
      body.push([
        row.variant.label,
        formatBytes(row.bytes),
        `${((100 * row.bytes) / row.jsonBytes).toFixed(1)} %`,
        row.variant.codec === jsonReference
          ? 'JSON'
          : row.bytes < row.jsonBytes
            ? 'compressed'
            : 'plain',
        formatMicros(1000 / enc.opsPerSec),
        formatOps(enc.opsPerSec),
        formatRme(enc.rme),
        formatMicros(1000 / dec.opsPerSec),
        formatOps(dec.opsPerSec),
        formatRme(dec.rme),
      ]);
    }
    lines.push(`**${size} KiB payload** (${formatBytes(jsonBytes)} bytes of JSON)`, '');
    lines.push(
      ...table(
        [
          'Codec',
          'bytes',
          'of JSON',
          'stored as',
          'encode µs/op',
          'encode ops/s',
          '±rme',
          'decode µs/op',
          'decode ops/s',
          '±rme',
        ],
        body,
        ['l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
  }
  for (const p of problems) lines.push(`⚠ ${p}`);
  return {
    title,
    lines,
    checks: [
      {
        scenario: 'Codec',
        label: 'decode(encode(v)) deep-equals v, every size and setting',
        actual: problems.length === 0 ? 'yes' : `${problems.length} mismatches`,
        target: 'yes',
        pass: problems.length === 0,
      },
    ],
  };
}
