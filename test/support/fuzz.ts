import crypto from 'node:crypto';

/** Seeded random generation for the fuzz tests: each case comes from (seed, index) alone, so one case replays. */

// A seeded PRNG: Math.random cannot be replayed.

export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per-case generator, so replaying one case does not need the cases before it. */
export function caseRng(seed: number, index: number): Rng {
  const h = crypto.createHash('sha256').update(`${seed}:${index}`).digest();
  return mulberry32(h.readUInt32LE(0));
}

export class Gen {
  constructor(readonly r: Rng) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** Weighted choice: [weight, value] pairs. */
  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    let x = this.r() * xs.reduce((n, [w]) => n + w, 0);
    for (const [w, v] of xs) {
      x -= w;
      if (x < 0) return v;
    }
    return xs[xs.length - 1][1];
  }
  alnum(len: number): string {
    const cs = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_';
    let s = '';
    for (let i = 0; i < len; i++) s += cs[this.int(cs.length)];
    return s;
  }
  /** Any UTF-16 text: ASCII, controls, quotes, backslashes, multi-byte, astral, lone surrogates. */
  text(maxLen: number): string {
    const len = this.int(maxLen + 1);
    let s = '';
    for (let i = 0; i < len; i++) {
      s += this.weighted<() => string>([
        [10, () => String.fromCharCode(this.between(0x20, 0x7e))],
        [1, () => String.fromCharCode(this.int(0x20))],
        [1, () => this.pick(['"', '\\', '/', '%', '&', '=', '+', '#', '?', '\u2028', '\ufeff', '\u0000'])],
        [2, () => String.fromCharCode(this.between(0x80, 0xd7ff))],
        [1, () => String.fromCodePoint(this.between(0x10000, 0x10ffff))],
        [1, () => String.fromCharCode(this.between(0xd800, 0xdfff))],
      ])();
    }
    return s;
  }
  /** Bytes that are not UTF-8: stray continuations, overlongs, surrogates, truncated sequences. */
  invalidUtf8(): Buffer {
    return this.pick([
      Buffer.from([0xff]),
      Buffer.from([0xfe, 0xff]),
      Buffer.from([0x80]),
      Buffer.from([0xc0, 0x80]),
      Buffer.from([0xc3]),
      Buffer.from([0xe2, 0x82]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from([0xf4, 0x90, 0x80, 0x80]),
      Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
    ]);
  }
}
