// The scrape endpoint: node:http, two routes, nothing else. Bound to loopback by default: the metrics
// name rules and interfaces, which is nobody else's business (a reverse proxy or a wider --metrics-listen
// is the operator's choice).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';

export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9465';

export interface ListenAddress {
  /** Without brackets: '127.0.0.1', '::1', 'localhost'. */
  readonly host: string;
  readonly port: number;
}

/** Stable code of every error this module raises; also a log field. */
export type MetricsErrorCode = 'ERR_METRICS_LISTEN' | 'ERR_METRICS_ADDRESS';

export class MetricsServerError extends Error {
  constructor(
    readonly code: MetricsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MetricsServerError';
  }
}

/** 'HOST:PORT', '[IPV6]:PORT' or ':PORT' (loopback). Port 0 asks the kernel for a free port. */
export function parseListenAddress(text: string): ListenAddress {
  const fail = (why: string): never => {
    throw new MetricsServerError(
      'ERR_METRICS_ADDRESS',
      `metrics listen address "${text}": ${why}; write HOST:PORT, e.g. 127.0.0.1:9465 or [::1]:9465`,
    );
  };
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
    if (isIP(host) !== 6) fail('only an IPv6 address goes inside brackets');
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) fail('no port');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) fail('an IPv6 address needs brackets');
    if (host === '') host = '127.0.0.1';
  }
  if (!/^\d+$/.test(portText!)) fail('the port is not a number');
  const port = Number(portText!);
  if (port > 65535) fail('the port is above 65535');
  return { host: host!, port };
}

export interface MetricsServerOptions {
  /** Default DEFAULT_METRICS_LISTEN. */
  readonly listen?: string;
  /** The exposition text and its content type. */
  readonly metrics: () => Promise<string>;
  readonly contentType: string;
  /** /healthz answers 200 while this is true (the queue is bound), 503 otherwise. */
  readonly isHealthy: () => boolean;
  /** Why the daemon is not healthy, for the 503 body (default "queue not bound"). */
  readonly healthProblem?: () => string | undefined;
}

export interface MetricsServer {
  /** The bound address, with the real port when 0 was asked for. */
  readonly address: ListenAddress;
  /** The address as an URL base, e.g. http://[::1]:9465 */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const wanted = parseListenAddress(options.listen ?? DEFAULT_METRICS_LISTEN);
  const server = createServer((req, res) => void handle(options, req, res));
  // A scraper that keeps its connection open must not hold up a stop.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(listenError(wanted, err));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: wanted.host, port: wanted.port, exclusive: true });
  });
  const bound = server.address() as AddressInfo;
  const address: ListenAddress = { host: bound.address, port: bound.port };
  const url = bound.family === 'IPv6' ? `http://[${bound.address}]:${bound.port}` : `http://${bound.address}:${bound.port}`;
  return {
    address,
    url,
    close: () => closeServer(server),
  };
}

function listenError(wanted: ListenAddress, err: NodeJS.ErrnoException): MetricsServerError {
  const where = wanted.host.includes(':') ? `[${wanted.host}]:${wanted.port}` : `${wanted.host}:${wanted.port}`;
  let fix: string;
  switch (err.code) {
    case 'EADDRINUSE':
      fix = `another process is listening there (another mssmangler? see \`ss -ltnp 'sport = :${wanted.port}'\`); stop it or choose another address with --metrics-listen HOST:PORT`;
      break;
    case 'EADDRNOTAVAIL':
      fix = 'no interface of this host has that address; use 127.0.0.1, [::1] or an address of this host with --metrics-listen';
      break;
    case 'EACCES':
      fix = 'ports below 1024 need privilege; choose a port above 1023 with --metrics-listen';
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      fix = 'the host name does not resolve; give an IP address with --metrics-listen';
      break;
    default:
      fix = 'choose another address with --metrics-listen HOST:PORT';
  }
  return new MetricsServerError('ERR_METRICS_LISTEN', `cannot listen for metrics on ${where}: ${err.code ?? err.message}: ${fix}`, {
    cause: err,
  });
}

async function handle(options: MetricsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  if (path === '/metrics') {
    try {
      const body = await options.metrics();
      res.writeHead(200, { 'Content-Type': options.contentType }).end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics collection failed: ${String(err)}\n`);
    }
    return;
  }
  if (path === '/healthz') {
    const ok = options.isHealthy();
    const problem = ok ? undefined : (options.healthProblem?.() ?? 'queue not bound');
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : `${problem}\n`);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
