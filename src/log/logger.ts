// The daemon's logger: winston underneath, one JSON object per line by default (journald stores each
// line as one entry; jq and Loki read it as is), plain text for a person at a terminal.
//
// The packet path never calls a log method unguarded: it tests `logger.isDebugEnabled` (a plain
// boolean property) before building any message or field object, so a disabled level costs one load
// and a branch (pino's rule: disabled logging must be free).
import { inspect } from 'node:util';
import type { Writable } from 'node:stream';
import winston from 'winston';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** 'auto': text when the stream is a terminal, JSON lines otherwise. */
export type LogFormat = 'json' | 'text' | 'auto';

export type LogFields = Readonly<Record<string, unknown>>;

export interface LoggerOptions {
  /** Default 'info'. */
  readonly level?: LogLevel;
  /** Default 'auto'. */
  readonly format?: LogFormat;
  /** Default process.stdout. Tests pass a stream that collects lines. */
  readonly stream?: Writable;
  /** Fields added to every line (e.g. { queue: 0 }). */
  readonly base?: LogFields;
}

const SEVERITY: Readonly<Record<LogLevel, number>> = { error: 0, warn: 1, info: 2, debug: 3 };

// winston's formats hand the finished line over under the triple-beam MESSAGE symbol.
const MESSAGE = Symbol.for('message');
// Our fields ride on the info object under a private symbol, so winston's own merging of metadata
// (which treats keys like `message` specially) never touches them.
const FIELDS = Symbol('mssmangler.fields');
const TIME = Symbol('mssmangler.time');

interface Info {
  level: string;
  message: string;
  [FIELDS]: LogFields;
  [TIME]: Date;
  [MESSAGE]?: string;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** Level state shared by a logger and its children, so setLevel on any of them applies to all. */
interface LevelState {
  level: LogLevel;
  warn: boolean;
  info: boolean;
  debug: boolean;
}

export class Logger {
  /** @internal Use createLogger(). */
  constructor(
    private readonly sink: winston.Logger,
    private readonly base: LogFields,
    private readonly state: LevelState,
  ) {}

  /** Check before building anything for a debug line. */
  get isDebugEnabled(): boolean {
    return this.state.debug;
  }

  get isInfoEnabled(): boolean {
    return this.state.info;
  }

  get isWarnEnabled(): boolean {
    return this.state.warn;
  }

  get level(): LogLevel {
    return this.state.level;
  }

  /** Change the level at run time (a reload with a new log level); children follow. */
  setLevel(level: LogLevel): void {
    setLevelState(this.state, level);
    this.sink.level = level;
  }

  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (this.state.warn) this.write('warn', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (this.state.info) this.write('info', msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.state.debug) this.write('debug', msg, fields);
  }

  /** A logger that adds fields to every line and shares this one's output and level. */
  child(fields: LogFields): Logger {
    return new Logger(this.sink, { ...this.base, ...fields }, this.state);
  }

  private write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    const info: Info = {
      level,
      message: msg,
      [FIELDS]: fields === undefined ? this.base : { ...this.base, ...fields },
      [TIME]: new Date(),
    };
    this.sink.log(info as unknown as winston.LogEntry);
  }
}

function setLevelState(state: LevelState, level: LogLevel): void {
  const s = SEVERITY[level];
  state.level = level;
  state.warn = s >= SEVERITY.warn;
  state.info = s >= SEVERITY.info;
  state.debug = s >= SEVERITY.debug;
}

/** Keys the line itself owns; a field of the same name is written as field_<name>. */
const RESERVED = new Set(['level', 'time', 'msg']);

function fieldValue(value: unknown): unknown {
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    return e.code === undefined ? { name: e.name, message: e.message } : { name: e.name, code: e.code, message: e.message };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function jsonLine(info: Info): string {
  const line: Record<string, unknown> = { level: info.level, time: info[TIME].toISOString(), msg: info.message };
  for (const [k, v] of Object.entries(info[FIELDS])) {
    line[RESERVED.has(k) ? `field_${k}` : k] = fieldValue(v);
  }
  return JSON.stringify(line);
}

function textValue(value: unknown): string {
  const v = fieldValue(value);
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return inspect(v, { breakLength: Infinity, depth: 4 });
}

function textLine(info: Info): string {
  let line = `${info[TIME].toISOString()} ${info.level.toUpperCase().padEnd(5)} ${info.message}`;
  for (const [k, v] of Object.entries(info[FIELDS])) line += ` ${k}=${textValue(v)}`;
  return line;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stdout;
  let format = options.format ?? 'auto';
  if (format === 'auto') format = (stream as Writable & { isTTY?: boolean }).isTTY === true ? 'text' : 'json';
  const render = format === 'json' ? jsonLine : textLine;
  const level = options.level ?? 'info';
  const sink = winston.createLogger({
    levels: SEVERITY,
    level,
    format: winston.format((info) => {
      const i = info as unknown as Info;
      i[MESSAGE] = render(i);
      return info;
    })(),
    transports: [new winston.transports.Stream({ stream })],
    exitOnError: false,
  });
  const state: LevelState = { level, warn: false, info: false, debug: false };
  setLevelState(state, level);
  return new Logger(sink, options.base ?? {}, state);
}
