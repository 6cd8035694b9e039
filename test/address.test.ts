import t from 'tap';
import { formatAddress, parseAddress } from '../source/address.js';

t.test('parses host:port, :port and [v6]:port', async (t) => {
  t.same(parseAddress('127.0.0.1:9090'), { host: '127.0.0.1', port: 9090 });
  t.same(parseAddress('localhost:80'), { host: 'localhost', port: 80 });
  t.same(parseAddress(':8080'), { port: 8080 });
  t.same(parseAddress('[::1]:9090'), { host: '::1', port: 9090 });
});

t.test('refuses what is not an address, saying what is', async (t) => {
  for (const bad of ['8080', '::1:9090', 'host:', 'host:99999', 'host:port', '[::1]']) {
    t.throws(() => parseAddress(bad), /use host:port, :port or \[::1\]:port/, bad);
  }
});

t.test('formats back to the same text', async (t) => {
  for (const text of ['127.0.0.1:9090', ':8080', '[::1]:9090']) t.equal(formatAddress(parseAddress(text)), text);
});

t.test("formats a bound socket's AddressInfo too", async (t) => {
  t.equal(formatAddress({ address: '::1', family: 'IPv6', port: 9090 }), '[::1]:9090');
  t.equal(formatAddress({ address: '127.0.0.1', family: 'IPv4', port: 80 }), '127.0.0.1:80');
});
