// The part of autocannon 8's programmatic API the load test uses (the package has no types).
declare module 'autocannon' {
  export interface Histogram {
    readonly average: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  }
  export interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  }
  export interface Options {
    url: string;
    connections?: number;
    duration?: number;
    workers?: number;
    overallRate?: number;
    headers?: Record<string, string>;
    requests?: Array<Request & { setupRequest?: (req: Request, context: object) => Request }>;
  }
  export interface Result {
    readonly requests: Histogram & { readonly total: number };
    readonly latency: Histogram;
    readonly duration: number;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly statusCodeStats: Record<string, { count: number }>;
  }
  export default function autocannon(options: Options): Promise<Result> & { stop(): void };
}
