import type { StaleReason } from './sources.js';

/** Direction of an invalidation-bus message, for {@link CacheMetrics.recordBusMessage}. */
export type BusDirection = 'published' | 'received';

/**
 * One thing {@link CacheMetrics} counted, as delivered to {@link CacheMetrics.onRecord}
 * listeners: feed it to OpenTelemetry, StatsD or the Prometheus exporter. Records carry no
 * cache keys, only label values from small sets (tier names, operations, reasons, codes).
 */
export type MetricRecord =
  | { readonly type: 'hit'; readonly tier: string; readonly stale: boolean }
  | { readonly type: 'miss' }
  | { readonly type: 'load'; readonly durationMs: number }
  | { readonly type: 'load-error'; readonly durationMs: number; readonly timeout: boolean }
  | { readonly type: 'stale-served'; readonly reason: StaleReason }
  | { readonly type: 'refresh'; readonly early: boolean }
  | {
      readonly type: 'tier-error';
      readonly tier: string;
      readonly operation: string;
      /** The error's `code`, `'unknown'` without one, `'other'` past the cap of distinct codes. */
      readonly code: string;
      /** `code === 'E_CORRUPT_PAYLOAD'`. */
      readonly corrupt: boolean;
    }
  | { readonly type: 'eviction'; readonly tier: string; readonly reason: string }
  | { readonly type: 'circuit'; readonly tier: string; readonly state: string }
  | { readonly type: 'bus'; readonly direction: BusDirection }
  | {
      readonly type: 'latency';
      readonly tier: string;
      readonly operation: string;
      readonly durationMs: number;
    };

/** A listener of {@link CacheMetrics.onRecord}. */
export type MetricRecordListener = (record: MetricRecord) => void;
