export type {
  CacheAnalyzerOptions,
  GuideOperationAnalysis,
  OperationAnalysis,
  RecommendationLevel,
} from './cache-analyzer.js';
export { CacheAnalyzer, firstSegment, recommend } from './cache-analyzer.js';
export type {
  CacheMetricsOptions,
  CacheMetricsSnapshot,
  GuideMetrics,
  TierErrorCount,
  TierLatency,
} from './cache-metrics.js';
export { CacheMetrics } from './cache-metrics.js';
export { InvalidOptionsError, MemoryCheckError } from './errors.js';
export type {
  HealthCheck,
  HealthCheckName,
  HealthReport,
  HealthThresholds,
} from './health.js';
export { DEFAULT_HEALTH_THRESHOLDS } from './health.js';
export type { LatencySnapshot } from './histogram.js';
export { LATENCY_BUCKET_BOUNDS_MS, LatencyHistogram } from './histogram.js';
export type { BusDirection, MetricRecord, MetricRecordListener } from './records.js';
export { infoNumber, parseRedisInfo } from './redis-info.js';
export type {
  RedisInfoClient,
  RedisMemoryMonitorEvent,
  RedisMemoryMonitorEvents,
  RedisMemoryMonitorOptions,
  RedisMemorySample,
  TimerProvider,
} from './redis-memory-monitor.js';
export { RedisMemoryMonitor } from './redis-memory-monitor.js';
export type {
  CacheEventSource,
  CircuitSource,
  EvictionSource,
  HitEventLike,
  HitMissSource,
  LoadErrorEventLike,
  LoadEventLike,
  MissEventLike,
  RefreshEventLike,
  StaleReason,
  StaleServedEventLike,
  TierErrorEventLike,
} from './sources.js';
