import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './http-exception.filter.js';
import { requestIdFrom } from './request-context.js';
import { NOSNIFF } from './security-headers.js';

/**
 * Errors Fastify and Node answer before any route runs: a malformed URL, an over-long path
 * parameter, a request too slow to arrive, headers too large, bytes that are not HTTP. They get
 * Parley's error body and `X-Request-Id` like every other answer, and never repeat the input.
 */
const MESSAGES: Readonly<Record<string, { status: number; code: string; message: string }>> = {
  FST_ERR_BAD_URL: { status: 400, code: 'bad_url', message: 'The request URL is malformed' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'uri_too_long', message: 'A path parameter is too long' },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'request_timeout',
    message: 'The request did not arrive in time',
  },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', message: 'The request headers are too large' },
};
const CLIENT_ERROR = { status: 400, code: 'bad_request', message: 'The request is not valid HTTP' };
const FRAMEWORK_ERROR = { status: 400, code: 'bad_request', message: 'The request cannot be routed' };

const SHUTTING_DOWN = {
  status: 503,
  code: 'shutting_down',
  message: 'This server is shutting down; retry, another replica will answer',
};
/** Another replica is ready at once: the client may retry straight away. */
const SHUTTING_DOWN_RETRY_AFTER_SECONDS = '1';

/**
 * Once the server closes, it stops accepting connections, but a request can still arrive on a
 * keep-alive connection that is busy with one in flight (pipelined, or sent before the client saw
 * the close). Such a request is answered 503 `shutting_down` in Parley's error body, with
 * `Retry-After`, and the connection closes after it; what was in flight before still finishes,
 * and its connection closes too (else an idle keep-alive connection would hold the close open
 * until the grace period ends). Registered first, so that no other hook (and no route) runs for it.
 */
export function registerShutdownAnswer(fastify: FastifyInstance): void {
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    void reply
      .status(SHUTTING_DOWN.status)
      .header('x-request-id', request.id)
      .header('x-content-type-options', NOSNIFF)
      .header('retry-after', SHUTTING_DOWN_RETRY_AFTER_SECONDS)
      .header('connection', 'close')
      .send(errorBody(SHUTTING_DOWN, request.id));
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) {
      void reply.header('connection', 'close');
    }
    done(null, payload);
  });
}

/** The request in flight on a socket, so that a timeout answered on the socket keeps its id. */
const requestIdBySocket = new WeakMap<Socket, string>();

export function registerRequestIdBySocket(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    requestIdBySocket.set(request.raw.socket, request.id);
    done();
  });
}

/** Fastify's `clientErrorHandler`: Node found the request broken or too slow, there is no reply object. */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) {
    return;
  }
  if (socket.writable) {
    const shape = (error.code === undefined ? undefined : MESSAGES[error.code]) ?? CLIENT_ERROR;
    const requestId = requestIdBySocket.get(socket) ?? requestIdFrom(undefined);
    const body = JSON.stringify(errorBody(shape, requestId));
    socket.write(
      `HTTP/1.1 ${shape.status} ${STATUS_CODES[shape.status] ?? 'Error'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        `X-Content-Type-Options: ${NOSNIFF}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Fastify's `frameworkErrors`: the router refused the URL before any hook ran. */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const shape = MESSAGES[error.code] ?? FRAMEWORK_ERROR;
  void reply
    .status(shape.status)
    .header('x-request-id', request.id)
    .header('x-content-type-options', NOSNIFF)
    .send(errorBody(shape, request.id));
}
