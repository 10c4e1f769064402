import type { Instance } from '../instance.js';

/** A JSON answer of the demo API. */
export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Record<string, unknown>;
}

/** The body of every 4xx/5xx answer. */
export interface ErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly message: string;
}

type Method = 'GET' | 'POST' | 'PATCH';

/** Calls an instance's API in process (`app.inject`), as a client would over HTTP. */
export function client(instance: Instance) {
  const call = async <T>(
    method: Method,
    url: string,
    payload?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>> => {
    const res = await instance.app.inject({
      method,
      url,
      ...(payload === undefined ? {} : { payload: payload as object }),
      ...(headers === undefined ? {} : { headers }),
    });
    const type = String(res.headers['content-type'] ?? '');
    return {
      status: res.statusCode,
      body: (type.includes('json') ? res.json() : res.body) as T,
      headers: res.headers,
    };
  };
  return {
    get: <T = ErrorBody>(url: string, headers?: Record<string, string>) =>
      call<T>('GET', url, undefined, headers),
    post: <T = ErrorBody>(url: string, payload?: unknown) => call<T>('POST', url, payload),
    patch: <T = ErrorBody>(url: string, payload?: unknown) => call<T>('PATCH', url, payload),
  };
}
