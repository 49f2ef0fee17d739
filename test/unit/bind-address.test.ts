/** parseBindAddress: kubebuilder's bind address convention for the metrics and probe servers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseBindAddress } from '../../src/runtime/manager/http-endpoints.ts';

describe('parseBindAddress', () => {
  test('":8080" listens on every interface', () => {
    assert.deepEqual(parseBindAddress(':8080'), { host: undefined, port: 8080 });
  });

  test('"127.0.0.1:0" listens on one interface and picks a free port', () => {
    assert.deepEqual(parseBindAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  });

  test('a host name is kept', () => {
    assert.deepEqual(parseBindAddress('localhost:8443'), { host: 'localhost', port: 8443 });
  });

  test('"[::1]:9090" is an IPv6 address without its brackets', () => {
    assert.deepEqual(parseBindAddress('[::1]:9090'), { host: '::1', port: 9090 });
    assert.deepEqual(parseBindAddress('[::]:8080'), { host: '::', port: 8080 });
  });

  test('"0" and "" mean disabled', () => {
    assert.equal(parseBindAddress('0'), undefined);
    assert.equal(parseBindAddress(''), undefined);
  });

  test('an address without a colon is refused with the expected form in the message', () => {
    assert.throws(
      () => parseBindAddress('8080'),
      /bind address "8080" must look like ":8080", "127.0.0.1:8080"/,
    );
    assert.throws(() => parseBindAddress('localhost'), /bind address "localhost"/);
  });

  test('a port that is not an integer from 0 to 65535 is refused', () => {
    for (const address of [':abc', ':65536', ':-1', ':80.5', 'host:http']) {
      assert.throws(
        () => parseBindAddress(address),
        new RegExp(`bind address "${address}" must look like`),
        address,
      );
    }
  });

  test('a malformed host or port is refused, not guessed: "[::1]" (no port), ":1e3", ":0x50", ": 80"', () => {
    // "[::1]" parses as host "[:" and port 1; Number() reads "1e3" as 1000, "0x50" as 80, " 80" as 80.
    for (const address of ['[::1]', ':1e3', ':0x50', ': 80']) {
      assert.throws(() => parseBindAddress(address), /bind address/, address);
    }
  });

  test('every port from 0 to 65535 is accepted on any host', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 65535 }),
        fc.constantFrom('', '127.0.0.1', '[::1]', 'example.com'),
        (port, host) => {
          const parsed = parseBindAddress(`${host}:${port}`);
          assert.deepEqual(parsed, { host: host.replace(/^\[(.*)\]$/, '$1') || undefined, port });
        },
      ),
    );
  });
});
