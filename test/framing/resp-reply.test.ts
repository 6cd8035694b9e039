import t from 'tap';
import { resp, respReply } from '../../source/index.js';
import { decode } from '../helpers/framing.js';

const text = (reply: Buffer): string => reply.toString('latin1');

t.test('encodes each RESP2 reply type', async (t) => {
  t.equal(text(respReply.simple('OK')), '+OK\r\n');
  t.equal(text(respReply.error("ERR unknown command 'FLY'")), "-ERR unknown command 'FLY'\r\n");
  t.equal(text(respReply.integer(0)), ':0\r\n');
  t.equal(text(respReply.integer(-42)), ':-42\r\n');
  t.equal(text(respReply.integer(2n ** 63n - 1n)), ':9223372036854775807\r\n');
  t.equal(text(respReply.bulk('héllo')), '$6\r\nh\xc3\xa9llo\r\n', 'UTF-8 by default, its length in bytes');
  t.equal(text(respReply.bulk('\xff\x00', 'latin1')), '$2\r\n\xff\x00\r\n');
  t.equal(text(respReply.bulk(Buffer.of(0x0d, 0x0a))), '$2\r\n\r\n\r\n', 'binary-safe');
  t.equal(text(respReply.bulk('')), '$0\r\n\r\n');
  t.equal(text(respReply.bulk(null)), '$-1\r\n');
  t.equal(text(respReply.null()), '$-1\r\n');
  t.equal(text(respReply.array(null)), '*-1\r\n');
  t.equal(text(respReply.array([])), '*0\r\n');
  t.equal(text(respReply.array(['a', 1, null, ['b', 'x'.repeat(10)]])), '*4\r\n$1\r\na\r\n:1\r\n$-1\r\n*2\r\n$1\r\nb\r\n$10\r\nxxxxxxxxxx\r\n');
});

t.test('refuses what would break the framing of the replies after it', async (t) => {
  t.throws(() => respReply.simple('two\r\nlines'), TypeError);
  t.throws(() => respReply.error('a\nb'), TypeError);
  t.throws(() => respReply.integer(1.5), TypeError);
  t.throws(() => respReply.array([Number.NaN]), TypeError);
});

t.test('what the encoders write for a command, resp() reads back', async (t) => {
  const args = ['SET', 'key', 'x'.repeat(3000), '\r\n'];
  t.same(decode(resp({ encoding: 'utf8' }), [respReply.array(args)]).frames, [args]);
});
