// Typed errors with a code; the API turns any of them into a Kubernetes Status.
import type { Status, StatusCause } from './types.ts';

export type StatusReason =
  | 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'Forbidden' | 'Unauthorized'
  | 'BadRequest' | 'Gone' | 'Expired' | 'RequestEntityTooLarge' | 'MethodNotAllowed'
  | 'UnsupportedMediaType' | 'NotAcceptable' | 'TooManyRequests' | 'InternalError'
  | 'ServiceUnavailable' | 'Timeout';

export interface ApiErrorDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details?: ApiErrorDetails;
  constructor(code: number, reason: StatusReason, message: string, details?: ApiErrorDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = reason;
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
  toStatus(): Status {
    return {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: this.message, reason: this.reason, details: this.details, code: this.code,
    };
  }
}

const make = (code: number, reason: StatusReason) =>
  class extends ApiError {
    constructor(message: string, details?: ApiErrorDetails, options?: { cause?: unknown }) {
      super(code, reason, message, details, options);
    }
  };

export class NotFound extends make(404, 'NotFound') {}
export class AlreadyExists extends make(409, 'AlreadyExists') {}
/** Optimistic-concurrency failure: the object changed since the caller read it. */
export class Conflict extends make(409, 'Conflict') {}
/** Validation failure; `details.causes` lists every bad field. */
export class Invalid extends make(422, 'Invalid') {}
export class Forbidden extends make(403, 'Forbidden') {}
export class Unauthorized extends make(401, 'Unauthorized') {}
export class BadRequest extends make(400, 'BadRequest') {}
/** A watch or list asked for a revision that was compacted away: relist. */
export class Gone extends make(410, 'Expired') {}
export class TooLarge extends make(413, 'RequestEntityTooLarge') {}
export class MethodNotAllowed extends make(405, 'MethodNotAllowed') {}
export class UnsupportedMediaType extends make(415, 'UnsupportedMediaType') {}
export class TooManyRequests extends make(429, 'TooManyRequests') {}
export class InternalError extends make(500, 'InternalError') {}

/**
 * A fenced write (Store.fenced) found that this manager's leadership key is gone or belongs to a newer
 * term: nothing was written. 503, so clients retry against the current leader rather than re-read.
 */
export class NotLeader extends ApiError {
  constructor(message = 'this manager is no longer the leader', details?: ApiErrorDetails, options?: { cause?: unknown }) {
    super(503, 'ServiceUnavailable', message, details, options);
    this.name = 'NotLeader';
  }
}

/** A reconcile error that must not be retried: logged and counted, then the key is forgotten. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** Rebuild an ApiError from a Status body received over HTTP. */
export function fromStatus(status: Partial<Status>, httpCode?: number): ApiError {
  const code = status.code ?? httpCode ?? 500;
  return new ApiError(code, (status.reason as StatusReason) ?? 'InternalError', status.message ?? `HTTP ${code}`, status.details as ApiErrorDetails | undefined);
}

export function isApiError(e: unknown, code?: number): e is ApiError {
  return e instanceof ApiError && (code === undefined || e.code === code);
}
