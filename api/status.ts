// Kubernetes Status responses: the error middleware and the catch-all 404.
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
    return new ApiError(err.status, 'BadRequest', err.message ?? 'bad request', undefined, { cause: err });
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
