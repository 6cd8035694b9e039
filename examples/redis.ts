/**
 * A Redis-compatible server in one pipe: `resp()` decodes the commands real
 * clients send, a `map` executes each against an in-memory store shared by
 * every connection, `respReply` encodes the answers. Pipelining comes for
 * free: the replies to one read go out in one write.
 *
 *   npm run example examples/redis.ts      # PORT=6380 by default
 *   redis-cli -p 6380 set greeting hello EX 60   → OK
 *   redis-cli -p 6380 get greeting               → "hello"
 *   redis-cli -p 6380 ttl greeting               → (integer) 60
 *   redis-benchmark -p 6380 -t ping,set,get -P 16 -q
 *
 * Commands: PING ECHO SET (EX PX NX XX KEEPTTL GET) GET DEL EXISTS INCR DECR
 * INCRBY DECRBY MSET MGET EXPIRE (NX XX GT LT) TTL DBSIZE FLUSHDB COMMAND
 * CONFIG GET (save, appendonly) QUIT; anything else gets Redis's
 * `-ERR unknown command …`. Keys and values are decoded as latin1, one
 * character per byte, so they are binary-safe.
 */
import { map, pipe, takeWhile } from 'rxjs';
import { resp, respReply as reply, serve, type RespValue } from 'tcp-rx';

/** The store, shared by every connection: values, and the expiry time (ms since the epoch) of the keys that have one. */
const values = new Map<string, string>();
const expiries = new Map<string, number>();

/** A key's value, or undefined if it is missing or has expired (which deletes it, as Redis does on access). */
function get(key: string): string | undefined {
  const value = values.get(key);
  if (value === undefined || expiries.size === 0) return value;
  const at = expiries.get(key);
  if (at === undefined || at > Date.now()) return value;
  remove(key);
  return undefined;
}

function remove(key: string): boolean {
  expiries.delete(key);
  return values.delete(key);
}

/** Sets a value; a plain SET forgets the key's expiry. */
function set(key: string, value: string, keepTtl = false): void {
  values.set(key, value);
  if (!keepTtl) expiries.delete(key);
}

/** Redis also expires keys nobody reads: every 100 ms, look at up to 200 of the keys with an expiry. */
let sweep = expiries.entries();
setInterval(() => {
  const now = Date.now();
  for (let checked = 0; checked < 200; checked++) {
    const next = sweep.next();
    if (next.done) {
      sweep = expiries.entries();
      return;
    }
    const [key, at] = next.value;
    if (at <= now) remove(key);
  }
}, 100).unref();

const OK = (): Buffer => reply.simple('OK');
const NOT_AN_INTEGER = 'ERR value is not an integer or out of range';
const SYNTAX = 'ERR syntax error';

/** A 64-bit signed integer as Redis's string2ll reads one (no sign but `-`, no leading zeros, no spaces), or undefined. */
function int64(text: string): bigint | undefined {
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(text)) return undefined;
  const value = BigInt(text);
  return value >= -(2n ** 63n) && value < 2n ** 63n ? value : undefined;
}

function incrementBy(key: string, by: bigint): Buffer {
  const current = get(key);
  const value = current === undefined ? 0n : int64(current);
  if (value === undefined) return reply.error(NOT_AN_INTEGER);
  const result = value + by;
  if (result < -(2n ** 63n) || result >= 2n ** 63n) return reply.error('ERR increment or decrement would overflow');
  set(key, String(result), true); // INCR keeps the key's expiry
  return reply.integer(result);
}

/** SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL], as Redis parses it. */
function setCommand(args: string[]): Buffer {
  const [, key = '', value = ''] = args;
  let condition: 'NX' | 'XX' | undefined;
  let returnOld = false;
  let keepTtl = false;
  let expiry: { unit: 'EX' | 'PX'; amount: string } | undefined;
  for (let i = 3; i < args.length; i++) {
    const option = args[i]!.toUpperCase();
    const next = args[i + 1];
    if ((option === 'NX' || option === 'XX') && condition !== (option === 'NX' ? 'XX' : 'NX')) condition = option;
    else if (option === 'GET') returnOld = true;
    else if (option === 'KEEPTTL' && expiry === undefined) keepTtl = true;
    else if ((option === 'EX' || option === 'PX') && !keepTtl && (expiry === undefined || expiry.unit === option) && next !== undefined) {
      expiry = { unit: option, amount: next };
      i++;
    } else return reply.error(SYNTAX);
  }
  let expiresAt: number | undefined;
  if (expiry !== undefined) {
    const amount = int64(expiry.amount);
    if (amount === undefined) return reply.error(NOT_AN_INTEGER);
    const ms = expiry.unit === 'EX' ? amount * 1000n : amount;
    if (amount <= 0n || ms > BigInt(Number.MAX_SAFE_INTEGER) - BigInt(Date.now())) return reply.error("ERR invalid expire time in 'set' command");
    expiresAt = Date.now() + Number(ms);
  }
  const old = condition !== undefined || returnOld ? get(key) : undefined;
  const refused = (condition === 'NX' && old !== undefined) || (condition === 'XX' && old === undefined);
  if (!refused) {
    set(key, value, keepTtl);
    if (expiresAt !== undefined) expiries.set(key, expiresAt);
  }
  if (returnOld) return reply.bulk(old ?? null, 'latin1');
  return refused ? reply.null() : OK();
}

/** EXPIRE key seconds [NX | XX | GT | LT]. */
function expireCommand([, key = '', seconds = '', ...options]: string[]): Buffer {
  const flags = new Set(options.map((option) => option.toUpperCase()));
  for (const flag of flags) if (!['NX', 'XX', 'GT', 'LT'].includes(flag)) return reply.error(`ERR Unsupported option ${flag}`);
  if (flags.has('NX') && (flags.has('XX') || flags.has('GT') || flags.has('LT'))) return reply.error('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (flags.has('GT') && flags.has('LT')) return reply.error('ERR GT and LT options at the same time are not compatible');
  const amount = int64(seconds);
  if (amount === undefined) return reply.error(NOT_AN_INTEGER);
  if (amount * 1000n > BigInt(Number.MAX_SAFE_INTEGER) - BigInt(Date.now())) return reply.error("ERR invalid expire time in 'expire' command");
  if (get(key) === undefined) return reply.integer(0);
  const at = Date.now() + Number(amount) * 1000;
  const current = expiries.get(key); // undefined: never expires, which GT treats as infinite
  if (flags.has('NX') && current !== undefined) return reply.integer(0);
  if (flags.has('XX') && current === undefined) return reply.integer(0);
  if (flags.has('GT') && (current === undefined || at <= current)) return reply.integer(0);
  if (flags.has('LT') && current !== undefined && at >= current) return reply.integer(0);
  if (amount <= 0n) remove(key); // a time in the past deletes the key
  else expiries.set(key, at);
  return reply.integer(1);
}

interface Command {
  /** Redis's arity: the exact argument count with the name, or at least -arity when negative. */
  readonly arity: number;
  readonly run: (args: string[]) => Buffer;
  /** Where its keys are, for COMMAND: the first, the last (-1: the last argument), the step. Default: none. */
  readonly keys?: readonly [number, number, number];
}

const ONE_KEY = [1, 1, 1] as const;
const ALL_KEYS = [1, -1, 1] as const;

const COMMANDS: Record<string, Command> = {
  ping: { arity: -1, run: (args) => (args.length > 2 ? wrongArity('ping') : args.length === 2 ? reply.bulk(args[1]!, 'latin1') : reply.simple('PONG')) },
  echo: { arity: 2, run: (args) => reply.bulk(args[1]!, 'latin1') },
  set: { arity: -3, keys: ONE_KEY, run: setCommand },
  get: { arity: 2, keys: ONE_KEY, run: (args) => reply.bulk(get(args[1]!) ?? null, 'latin1') },
  del: { arity: -2, keys: ALL_KEYS, run: (args) => reply.integer(args.slice(1).filter((key) => get(key) !== undefined && remove(key)).length) },
  exists: { arity: -2, keys: ALL_KEYS, run: (args) => reply.integer(args.slice(1).filter((key) => get(key) !== undefined).length) },
  incr: { arity: 2, keys: ONE_KEY, run: (args) => incrementBy(args[1]!, 1n) },
  decr: { arity: 2, keys: ONE_KEY, run: (args) => incrementBy(args[1]!, -1n) },
  incrby: { arity: 3, keys: ONE_KEY, run: (args) => withInteger(args[2]!, (by) => incrementBy(args[1]!, by)) },
  decrby: { arity: 3, keys: ONE_KEY, run: (args) => withInteger(args[2]!, (by) => incrementBy(args[1]!, -by)) },
  mset: {
    arity: -3,
    keys: [1, -1, 2],
    run: (args) => {
      if (args.length % 2 === 0) return wrongArity('mset');
      for (let i = 1; i < args.length; i += 2) set(args[i]!, args[i + 1]!);
      return OK();
    },
  },
  mget: { arity: -2, keys: ALL_KEYS, run: (args) => reply.array(args.slice(1).map((key) => get(key) ?? null), 'latin1') },
  expire: { arity: -3, keys: ONE_KEY, run: expireCommand },
  ttl: {
    arity: 2,
    keys: ONE_KEY,
    run: ([, key = '']) => {
      if (get(key) === undefined) return reply.integer(-2);
      const at = expiries.get(key);
      return reply.integer(at === undefined ? -1 : Math.floor((Math.max(at - Date.now(), 0) + 500) / 1000));
    },
  },
  dbsize: { arity: 1, run: () => reply.integer(values.size) },
  flushdb: {
    arity: -1,
    run: (args) => {
      if (args.length > 2 || (args.length === 2 && !['ASYNC', 'SYNC'].includes(args[1]!.toUpperCase()))) return reply.error(SYNTAX);
      values.clear();
      expiries.clear();
      return OK();
    },
  },
  command: { arity: -1, run: commandCommand },
  config: { arity: -2, run: configCommand },
  quit: { arity: -1, run: OK },
};

/** COMMAND, COMMAND COUNT, COMMAND INFO name…, COMMAND DOCS: what clients ask to learn the server's commands. */
function commandCommand(args: string[]): Buffer {
  const info = (name: string): RespValue => {
    const command = COMMANDS[name.toLowerCase()];
    return command === undefined ? null : [name.toLowerCase(), command.arity, [], ...(command.keys ?? [0, 0, 0])];
  };
  const sub = args[1]?.toUpperCase();
  if (sub === undefined) return reply.array(Object.keys(COMMANDS).map(info));
  if (sub === 'COUNT') return reply.integer(Object.keys(COMMANDS).length);
  if (sub === 'INFO') return reply.array(args.slice(2).map(info));
  if (sub === 'DOCS') return reply.array([]); // no documentation: clients fall back on their own
  return reply.error(`ERR unknown subcommand '${args[1]}'. Try COMMAND HELP.`);
}

/** The parameters CONFIG GET shows (redis-benchmark asks for these two): this server keeps nothing on disk. */
const PARAMETERS: Record<string, string> = { save: '', appendonly: 'no' };

/** CONFIG GET parameter…: the parameters named (exactly; no glob patterns), as name/value pairs. */
function configCommand(args: string[]): Buffer {
  if (args[1]!.toUpperCase() !== 'GET') return reply.error(oneLine(`ERR unknown subcommand '${args[1]}'. Try CONFIG HELP.`));
  if (args.length < 3) return wrongArity('config|get');
  const names = args.slice(2).map((name) => name.toLowerCase());
  return reply.array(Object.entries(PARAMETERS).filter(([name]) => names.includes(name)).flat());
}

function withInteger(text: string, then: (value: bigint) => Buffer): Buffer {
  const value = int64(text);
  return value === undefined ? reply.error(NOT_AN_INTEGER) : then(value);
}

const wrongArity = (name: string): Buffer => reply.error(`ERR wrong number of arguments for '${name}' command`);

/** Error text cannot hold a line end: Redis shows it as a space. */
const oneLine = (text: string): string => text.replace(/[\r\n]/g, ' ');

/** Names as clients send them, in either case, without lower-casing each command. */
const BY_NAME = new Map(Object.entries(COMMANDS).flatMap(([name, command]) => [[name, command] as const, [name.toUpperCase(), command] as const]));

function execute(args: string[]): Buffer {
  const name = args[0]!;
  const command = BY_NAME.get(name) ?? BY_NAME.get(name.toLowerCase());
  if (command === undefined) {
    // Redis's words: the name and the first arguments, up to 128 characters.
    let shown = '';
    for (let i = 1; i < args.length && shown.length < 128; i++) shown += `'${args[i]!.slice(0, 128 - shown.length)}' `;
    return reply.error(oneLine(`ERR unknown command '${name.slice(0, 128)}', with args beginning with: ${shown}`));
  }
  const { arity } = command;
  if (arity > 0 ? args.length !== arity : args.length < -arity) return wrongArity(oneLine(name.toLowerCase()));
  return command.run(args);
}

const isQuit = (args: string[]): boolean => args[0]!.length === 4 && args[0]!.toUpperCase() === 'QUIT';

/** The whole server: commands in, replies out; QUIT's reply is the last, then the connection closes. */
const redis = pipe(
  // Values up to 16 MiB (Redis allows 512 MB; a connection holds a command until it is whole).
  resp({ encoding: 'latin1', maxBulkLength: 16 * 1024 * 1024, maxLength: 32 * 1024 * 1024 }),
  takeWhile((args) => !isQuit(args), true),
  map(execute),
);

const server = await serve({ host: '127.0.0.1', port: Number(process.env.PORT ?? 6380) }, redis);
console.log(`redis listening on ${server.address.address}:${server.address.port}`);
process.once('SIGTERM', () => void server.close());
process.once('SIGINT', () => void server.close());
