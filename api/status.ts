// Kubernetes Status responses: the error middleware and the catch-all 404.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ApiError, BadRequest, InternalError, NotFound, TooLarge } from '../core/errors.ts';
import type { Logger } from '../core/logging.ts';

export const NOT_FOUND_MESSAGE = 'the server could not find the requested resource';

export function resourceNotFound(): NotFound {
  return new NotFound(NOT_FOUND_MESSAGE);
}

/** body-parser errors carry `type` and `status`; map them to Status objects. */
function fromHttpError(err: { type?: string; status?: number; message?: string; limit?: number }): ApiError | undefined {
  if (err.type === 'entity.too.large') {
    return new TooLarge(`request body is larger than the limit of ${err.limit} bytes`, undefined, { cause: err });
  }
  if (err.type === 'request.aborted') return new BadRequest('request aborted by the client', undefined, { cause: err });
  if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
    return new ApiError(err.status, err.status === 415 ? 'UnsupportedMediaType' : 'BadRequest', err.message || 'bad request', undefined, { cause: err });
  }
  return undefined;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let apiErr = err instanceof ApiError ? err : fromHttpError((err ?? {}) as Record<string, never>);
    if (!apiErr) {
      logger.error('unhandled error', { method: req.method, path: req.path, error: String(err), stack: (err as Error)?.stack, cause: String((err as Error)?.cause ?? '') });
      apiErr = new InternalError(`internal error: ${(err as Error)?.message ?? String(err)}`, undefined, { cause: err });
    }
    if (res.headersSent) {
      // a streaming response already started; all we can do is end it
      res.end();
      return;
    }
    res.status(apiErr.code).json(apiErr.toStatus());
  };
}

export const notFoundHandler: RequestHandler = (_req, _res, next) => next(resourceNotFound());

/**
 * `clientError` of the HTTP server (malformed request line or headers, headers too large, a request
 * that timed out): answer with a Status body instead of Node's bare `400 Bad Request`, then close.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail = (err as { reason?: unknown }).reason;
  const message = code === 431 ? 'request headers are too large'
    : code === 408 ? 'request timed out before it was complete'
      : err.code === 'HPE_INVALID_EOF_STATE' ? 'the request ended before it was complete (a body shorter than its Content-Length, or cut-off headers)'
        : `malformed HTTP request: ${err.message.replace(/[\r\n]+/g, ' ')}${typeof detail === 'string' && !err.message.includes(detail) ? ` (${detail})` : ''}`;
  const reason = code === 408 ? 'Timeout' : 'BadRequest';
  const body = JSON.stringify(new ApiError(code, reason, message).toStatus());
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
