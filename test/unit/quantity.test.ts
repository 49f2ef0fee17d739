/** parseQuantity: Kubernetes resource quantities as exact nano-unit bigints. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseQuantity } from '../../src/runtime/reconcile/quantity.ts';

const nano = 1_000_000_000n;

describe('parseQuantity', () => {
  test('plain numbers are whole units: "1" is 1e9 nano-units, "0" is 0', () => {
    assert.equal(parseQuantity('1'), nano);
    assert.equal(parseQuantity('0'), 0n);
    assert.equal(parseQuantity('250'), 250n * nano);
  });

  test('"0.5" and "500m" are the same quantity, and so are ".5" and "0.50"', () => {
    const half = parseQuantity('500m');
    assert.equal(half, nano / 2n);
    for (const text of ['0.5', '.5', '0.50', '5e-1', '500000u', '500000000n']) {
      assert.equal(parseQuantity(text), half, text);
    }
  });

  test('binary suffixes are powers of 1024: "1Gi" is 1073741824 units', () => {
    assert.equal(parseQuantity('1Ki'), 1024n * nano);
    assert.equal(parseQuantity('512Mi'), 512n * 1024n ** 2n * nano);
    assert.equal(parseQuantity('1Gi'), 1_073_741_824n * nano);
    assert.equal(parseQuantity('1.5Gi'), 1_610_612_736n * nano);
    assert.equal(parseQuantity('1Ei'), 1024n ** 6n * nano);
  });

  test('decimal suffixes and exponents agree: "1e3" is "1k", "1E6" is "1M", "1e-3" is "1m"', () => {
    assert.equal(parseQuantity('1e3'), parseQuantity('1k'));
    assert.equal(parseQuantity('1E3'), parseQuantity('1000'));
    assert.equal(parseQuantity('1e+3'), parseQuantity('1k'));
    assert.equal(parseQuantity('1E6'), parseQuantity('1M'));
    assert.equal(parseQuantity('2G'), 2n * 10n ** 9n * nano);
    assert.equal(parseQuantity('1e-3'), parseQuantity('1m'));
    assert.equal(parseQuantity('1u'), 1000n);
    assert.equal(parseQuantity('1n'), 1n);
    assert.equal(parseQuantity('3P'), 3n * 10n ** 15n * nano);
  });

  test('the exa suffix "E" alone is a decimal suffix (3E = 3 x 10^18 units), not an exponent without digits', () => {
    // The pattern lets "E" through as a suffix, then it is taken for an exponent: parseInt('') is NaN
    // and BigInt(NaN) throws a RangeError, so findDrift throws for a spec with memory: 1E.
    assert.equal(parseQuantity('3E'), 3n * 10n ** 18n * nano);
    assert.equal(parseQuantity('1.5E'), 15n * 10n ** 17n * nano);
  });

  test('a sign is allowed: "-1" is the negation of "1" and "+1" is "1"', () => {
    assert.equal(parseQuantity('-1'), -nano);
    assert.equal(parseQuantity('+1'), nano);
    assert.equal(parseQuantity('-100m'), -(nano / 10n));
  });

  test('below a nano-unit the value is rounded up, as the API server does', () => {
    assert.equal(parseQuantity('0.1n'), 1n);
    assert.equal(parseQuantity('1.5n'), 2n);
    assert.equal(parseQuantity('1e-10'), 1n);
    assert.equal(parseQuantity('-1.5n'), -2n, 'away from zero');
  });

  test('invalid quantities give undefined', () => {
    for (const text of [
      '',
      'abc',
      'Gi',
      '1Mx',
      '1.2.3',
      '1 Gi',
      '1KI',
      '1K',
      '1ki',
      '--1',
      'e3',
      '.',
      '1e',
      '0x10',
      'NaN',
      'Infinity',
    ]) {
      assert.equal(parseQuantity(text), undefined, JSON.stringify(text));
    }
  });

  test('a decimal fraction equals the same digits with the matching suffix or exponent', () => {
    const suffixOf: Record<number, string> = { 0: '', 3: 'm', 6: 'u', 9: 'n' };
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.constantFrom(0, 3, 6, 9), (digits, scale) => {
        const text = digits.toString().padStart(scale + 1, '0');
        const decimal = scale === 0 ? text : `${text.slice(0, -scale)}.${text.slice(-scale)}`;
        const expected = digits * 10n ** BigInt(9 - scale);
        assert.equal(parseQuantity(decimal), expected, decimal);
        assert.equal(parseQuantity(`${digits}${suffixOf[scale]}`), expected);
        assert.equal(parseQuantity(`${digits}e-${scale}`), expected);
      }),
    );
  });

  test('n with a binary suffix is n x 1024^k units, and a minus sign negates any quantity', () => {
    const suffixes = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 0, max: 5 }), (n, k) => {
        const text = `${n}${suffixes[k]}`;
        assert.equal(parseQuantity(text), n * 1024n ** BigInt(k + 1) * nano);
        assert.equal(parseQuantity(`-${text}`), -(n * 1024n ** BigInt(k + 1) * nano));
      }),
    );
  });

  test('a quantity with an absurd exponent (1e999999999, which the CRD pattern allows) is handled in bounded time', async () => {
    // Computing 10^999999999 as a bigint blocks the event loop for many seconds and then throws
    // "Maximum BigInt size exceeded". Run it in a child process and give it 1.5 s (a correct parser needs a few ms,
    // plus ~50 ms to start node).
    const module = new URL('../../src/runtime/reconcile/quantity.ts', import.meta.url).href;
    const code = `import { parseQuantity } from ${JSON.stringify(module)};
      for (const q of ['1e999999999', '1e-999999999']) parseQuantity(q);`;
    const outcome = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', code],
        { timeout: 1500, killSignal: 'SIGKILL' },
        (err, _stdout, stderr) => {
          if (!err) resolve('ok');
          else if (err.killed) resolve('still computing after 1.5 s');
          else resolve(`threw: ${stderr.split('\n').find((l) => l.includes('Error')) ?? stderr}`);
        },
      );
    });
    assert.equal(outcome, 'ok');
  });
});
