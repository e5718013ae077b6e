/**
 * IEEE 754 half precision <-> single precision, for weights stored at half their size.
 * Conversion to half rounds to the nearest representable value (ties to even); values beyond
 * the half range become +-Infinity, which the zoo's builder refuses (it keeps float32 then).
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** One float32 value as float16 bits. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000; // subnormal half: shift the implicit bit in
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && (half & 1)) ? 1 : 0));
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half += 1; // may carry into the exponent, up to Inf: correct
  e = half;
  return sign | e;
}

/** float16 bits as a float32 value. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 values -> float16 bits (little-endian when written as bytes by Uint16Array on LE hosts; see encodeHalf). */
export function encodeHalf(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setUint16(2 * i, toHalfBits(values[i]), true);
  return out;
}

/** Little-endian float16 bytes -> float32 values. */
export function decodeHalf(bytes: Uint8Array): Float32Array {
  const n = bytes.length >>> 1;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = fromHalfBits(view.getUint16(2 * i, true));
  return out;
}
