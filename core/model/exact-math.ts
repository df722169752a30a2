/**
 * Logarithms, exponentials and powers that return the same bits on every JavaScript runtime.
 *
 * ECMAScript leaves `Math.log`, `Math.exp`, `Math.pow`, `Math.log10` (and every other
 * transcendental function) "implementation-approximated": V8 builds differ in their last bit
 * (Node 20 and Deno 2 disagree on 4-10% of inputs, depending on the function), so a latency
 * drawn with `Math.log` from one seed is not always the same number under both, and neither is
 * a history that depends on it. These functions are built only from operations IEEE 754
 * requires to be correctly rounded (`+ - * /` and `Math.sqrt`), from reading the bits of
 * doubles and from scaling by powers of two, so they give one answer everywhere. Anything that
 * can steer a simulated schedule or a placement (latency draws, failure-detector thresholds,
 * rendezvous scores, workload key choice) uses them.
 *
 * The algorithms are fdlibm's (Sun Microsystems, 1993-2004), as in FreeBSD's msun: `e_log.c`,
 * `e_exp.c`, `e_pow.c`, and `e_log10.c` in Bruce Evans's extra-precision form. Each keeps its
 * error below one ulp; the tests measure it against `Math` and pin exact bits.
 *
 * Import it as a namespace, so a call site reads as what it is: `exactMath.log(u)`.
 *
 * @example
 * ```ts
 * import { exactMath } from "ringforge/plugin-kit";
 *
 * // An exponential delay with mean 10 ms, the same on Node and Deno for the same draw.
 * const delay = -exactMath.log(1 - random.next()) * 10;
 * ```
 *
 * @module
 */

// ---- exact access to the bits of a double -------------------------------------------------------
//
// fdlibm reads and writes the two 32-bit words of a double. Here words are only read: a double
// whose words are changed is built instead by multiplying by a power of two, which is exact and
// gives the same bits. (Writing 4 bytes of a buffer and then reading its 8 stalls the CPU's
// store forwarding; it made `log` twice as slow.)

const scratch = new Float64Array(1);
const words = new Int32Array(scratch.buffer);
/** Index of the high word (sign, exponent, top of the mantissa) in `words`: 1 on little-endian hosts. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** The high 32 bits of `x`, signed (negative when the sign bit is set). */
function highWord(x: number): number {
  scratch[0] = x;
  return words[HI]!;
}

/** The low 32 bits of `x`, unsigned. */
function lowWord(x: number): number {
  scratch[0] = x;
  return words[LO]! >>> 0;
}

/** `POWERS_OF_TWO[n + 1074]` is 2^n, for n from -1074 to 1023: every power of two a double holds, each exact. */
const POWERS_OF_TWO = (() => {
  const table = new Float64Array(2098);
  let p = 1;
  for (let n = 0; n <= 1023; n++, p *= 2) table[n + 1074] = p;
  p = 1;
  for (let n = 0; n >= -1074; n--, p /= 2) table[n + 1074] = p;
  return table;
})();

/** 2^n, exactly, for an integer n from -1074 to 1023. */
function twoTo(n: number): number {
  return POWERS_OF_TWO[n + 1074]!;
}

/** `x` with its low word cleared (fdlibm's SET_LOW_WORD(x, 0)): its top 21 significant bits, so products of such halves are exact. */
function withoutLowWord(x: number): number {
  scratch[0] = x;
  const hi = words[HI]!;
  const exponent = (hi >>> 20) & 0x7ff;
  // The low word counts units of the last place: 2^(exponent - 1075), or 2^-1074 for subnormals.
  const tail = (words[LO]! >>> 0) * twoTo((exponent === 0 ? 1 : exponent) - 1075);
  return hi < 0 ? -(-x - tail) : x - tail; // -(-x - tail), not x + tail: -0 stays -0
}

/** The normal double whose high word is `hi` and whose low word is 0 (fdlibm's INSERT_WORDS(x, hi, 0)). */
function fromHighWord(hi: number): number {
  const magnitude = ((hi & 0x000fffff) | 0x00100000) * twoTo(((hi >>> 20) & 0x7ff) - 1043);
  return hi < 0 ? -magnitude : magnitude;
}

// ---- constants (fdlibm's, written as the shortest decimals that parse to the intended bits) ----

const TWO53 = 9007199254740992; // 0x43400000 00000000
const TWO54 = 18014398509481984; // 0x43500000 00000000
const LN2 = 0.6931471805599453; // 0x3fe62e42 fefa39ef
const LN2_HI = 0.6931471803691238; // 0x3fe62e42 fee00000: k * LN2_HI is exact for |k| < 2000
const LN2_LO = 1.9082149292705877e-10; // 0x3dea39ef 35793c76
const INV_LN2 = 1.4426950408889634; // 0x3ff71547 652b82fe

// log(1 + f) = 2s + s * R(s^2), s = f / (2 + f): Remez polynomial, error below 2^-58.45 (e_log.c)
const LG1 = 0.6666666666666735; // 0x3fe55555 55555593
const LG2 = 0.3999999999940942; // 0x3fd99999 9997fa04
const LG3 = 0.2857142874366239; // 0x3fd24924 94229359
const LG4 = 0.22222198432149784; // 0x3fcc71c5 1d8e78af
const LG5 = 0.1818357216161805; // 0x3fc74664 96cb03de
const LG6 = 0.15313837699209373; // 0x3fc39a09 d078c69f
const LG7 = 0.14798198605116586; // 0x3fc2f112 df3e5244

// exp(r) through R(r^2) = r * (exp(r) + 1) / (exp(r) - 1): error below 2^-59 (e_exp.c)
const P1 = 0.16666666666666602; // 0x3fc55555 5555553e
const P2 = -0.0027777777777015593; // 0xbf66c16c 16bebd93
const P3 = 0.00006613756321437934; // 0x3f11566a af25de2c
const P4 = -0.0000016533902205465252; // 0xbebbbd41 c5d26bf1
const P5 = 4.1381367970572385e-8; // 0x3e663769 72bea4d0
const EXP_OVERFLOW = 709.782712893384; // 0x40862e42 fefa39ef: above, exp(x) is Infinity
const EXP_UNDERFLOW = -745.1332191019411; // 0xc0874910 d52d3051: below, exp(x) is 0
const TWO_M1000 = 9.332636185032189e-302; // 2^-1000

// log10(x) = k * log10(2) + log(1 + f) / ln(10), in extra precision (FreeBSD e_log10.c)
const IVLN10_HI = 0.4342944818781689; // 0x3fdbcb7b 15200000
const IVLN10_LO = 2.5082946711645275e-11; // 0x3dbb9438 ca9aadd5
const LOG10_2_HI = 0.30102999566361177; // 0x3fd34413 509f6000
const LOG10_2_LO = 3.694239077158931e-13; // 0x3d59fef3 11f12b36

// pow: log2(x) as 3/(2 ln 2) * (2s + 2/3 s^3 + s^5 * L(s^2)), then 2^(y log2 x) (e_pow.c)
const L1 = 0.5999999999999946; // 0x3fe33333 33333303
const L2 = 0.4285714285785502; // 0x3fdb6db6 db6fabff
const L3 = 0.33333332981837743; // 0x3fd55555 518f264d
const L4 = 0.272728123808534; // 0x3fd17460 a91d4101
const L5 = 0.23066074577556175; // 0x3fcd864a 93c9db65
const L6 = 0.20697501780033842; // 0x3fca7e28 4a454eef
const LN2_H21 = 0.6931471824645996; // 0x3fe62e43 00000000: ln 2 to 21 bits
const LN2_T21 = -1.904654299957768e-9; // 0xbe205c61 0ca86c39: its tail
const CP = 0.9617966939259756; // 0x3feec709 dc3a03fd: 2 / (3 ln 2)
const CP_H = 0.9617967009544373; // 0x3feec709 e0000000
const CP_L = -7.028461650952758e-9; // 0xbe3e2fe0 145b01f5
const DP_H = 0.5849624872207642; // 0x3fe2b803 40000000: log2(1.5), high part
const DP_L = 1.350039202129749e-8; // 0x3e4cfdeb 43cfd006: its tail
const IVLN2_H = 1.4426950216293335; // 0x3ff71547 60000000
const IVLN2_L = 1.9259629911266175e-8; // 0x3e54ae0b f85ddf44
const OVT = 8.008566259537294e-17; // -(1024 - log2(largest double + half an ulp))

// ---- natural logarithm -----------------------------------------------------------------------------

/**
 * The natural logarithm of `x`, within one ulp (fdlibm `e_log.c`), the same bits on every
 * runtime.
 *
 * @returns `-Infinity` for ±0, `NaN` for a negative `x` or `NaN`, `Infinity` for `Infinity`
 */
export function log(x: number): number {
  let hx = highWord(x);
  let k = 0;
  if (hx < 0x00100000) {
    // Zero, subnormal or negative.
    if (x === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= TWO54;
    hx = highWord(x);
  }
  if (hx >= 0x7ff00000) return x + x; // Infinity or NaN
  // x = 2^k * (1 + f), with sqrt(2)/2 < 1 + f < sqrt(2).
  const exponent = (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000; // set when the mantissa is at least sqrt(2): halve it
  k += exponent + (i >> 20);
  const f = x * twoTo(-exponent - (i >> 20)) - 1;
  if ((0x000fffff & (2 + hx)) < 3) {
    // |f| < 2^-20: a short series is exact enough.
    if (f === 0) return k === 0 ? 0 : k * LN2_HI + k * LN2_LO;
    const r = f * f * (0.5 - 0.3333333333333333 * f);
    return k === 0 ? f - r : k * LN2_HI - ((r - k * LN2_LO) - f);
  }
  const s = f / (2 + f);
  const z = s * s;
  const w = z * z;
  const r = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7))) + w * (LG2 + w * (LG4 + w * LG6));
  if (((hx - 0x6147a) | (0x6b851 - hx)) > 0) {
    // 1 + f far from 1: subtract half f^2 separately, for accuracy.
    const hfsq = 0.5 * f * f;
    return k === 0 ? f - (hfsq - s * (hfsq + r)) : k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f);
  }
  return k === 0 ? f - s * (f - r) : k * LN2_HI - ((s * (f - r) - k * LN2_LO) - f);
}

// ---- base-10 logarithm -----------------------------------------------------------------------------

/**
 * The base-10 logarithm of `x`, within one ulp (FreeBSD `e_log10.c`: fdlibm's reduction with
 * the sum done in extra precision), the same bits on every runtime. Powers of ten from 1 to
 * 1e22 give their exponent exactly.
 *
 * @returns `-Infinity` for ±0, `NaN` for a negative `x` or `NaN`, `Infinity` for `Infinity`
 */
export function log10(x: number): number {
  let hx = highWord(x);
  let k = 0;
  if (hx < 0x00100000) {
    if (x === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= TWO54;
    hx = highWord(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  if (x === 1) return 0;
  const exponent = (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000;
  k += exponent + (i >> 20);
  const f = x * twoTo(-exponent - (i >> 20)) - 1;
  const hfsq = 0.5 * f * f;
  // log(1 + f) = f - hfsq + r, carried as hi + lo with hi short enough that hi * IVLN10_HI is exact.
  const r = logKernel(f, hfsq);
  const hi = withoutLowWord(f - hfsq);
  const lo = (f - hi) - hfsq + r;
  let valHi = hi * IVLN10_HI;
  const y2 = k * LOG10_2_HI;
  let valLo = k * LOG10_2_LO + (lo + hi) * IVLN10_LO + lo * IVLN10_HI;
  const w = y2 + valHi;
  valLo += (y2 - w) + valHi;
  valHi = w;
  return valLo + valHi;
}

/** log(1 + f) - f + f^2/2 for 1 + f in about [sqrt(2)/2, sqrt(2)] (FreeBSD `k_log.h`). */
function logKernel(f: number, hfsq: number): number {
  const s = f / (2 + f);
  const z = s * s;
  const w = z * z;
  const r = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7))) + w * (LG2 + w * (LG4 + w * LG6));
  return s * (hfsq + r);
}

// ---- exponential -----------------------------------------------------------------------------------

/**
 * e raised to `x`, within one ulp (fdlibm `e_exp.c`), the same bits on every runtime.
 *
 * @returns `Infinity` above about 709.78, `0` below about -745.13, `NaN` for `NaN`
 */
export function exp(x: number): number {
  let hx = highWord(x);
  const negative = hx < 0;
  hx &= 0x7fffffff;
  if (hx >= 0x40862e42) {
    // |x| >= 709.78..., or not finite.
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | lowWord(x)) !== 0) return x + x; // NaN
      return negative ? 0 : x;
    }
    if (x > EXP_OVERFLOW) return Infinity;
    if (x < EXP_UNDERFLOW) return 0;
  }
  // x = k ln2 + r, |r| <= ln2 / 2, with r carried as hi - lo.
  let hi = 0;
  let lo = 0;
  let k = 0;
  if (hx > 0x3fd62e42) {
    if (hx < 0x3ff0a2b2) {
      // |x| < 1.5 ln2: k is ±1.
      hi = negative ? x + LN2_HI : x - LN2_HI;
      lo = negative ? -LN2_LO : LN2_LO;
      k = negative ? -1 : 1;
    } else {
      k = (INV_LN2 * x + (negative ? -0.5 : 0.5)) | 0;
      hi = x - k * LN2_HI; // exact: k has at most 11 bits, LN2_HI's last 21 bits are zero
      lo = k * LN2_LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    // |x| < 2^-28: 1 + x is exp(x) rounded.
    return 1 + x;
  }
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k === 0) return 1 - ((x * c) / (c - 2) - x);
  const y = 1 - ((lo - (x * c) / (2 - c)) - hi);
  // Scale by 2^k: exactly, through 2^1023 * 2 at the top; at the bottom, where the result is
  // subnormal, by 2^(k + 1000) and then 2^-1000, as fdlibm does.
  if (k >= -1021) {
    if (k === 1024) return y * 2 * twoTo(1023);
    return y * twoTo(k);
  }
  return y * twoTo(k + 1000) * TWO_M1000;
}

// ---- power -----------------------------------------------------------------------------------------

/**
 * `x` raised to `y` for a base that is not negative, within one ulp (fdlibm `e_pow.c`: log2(x)
 * and its product with `y` in extra precision, then 2 to that power), the same bits on every
 * runtime. An integer power of an integer is exact when representable.
 *
 * @returns as `Math.pow` for `x >= 0`: `pow(x, 0)` and `pow(1, y)` are 1, a `NaN` argument
 *   gives `NaN`, overflow gives `Infinity`; `NaN` for a negative `x` unless `y` is 0 (-0 counts
 *   as +0)
 */
export function pow(x: number, y: number): number {
  const hy = highWord(y);
  const ly = lowWord(y);
  const hx = highWord(x);
  const lx = lowWord(x);
  const ix = hx & 0x7fffffff;
  const iy = hy & 0x7fffffff;
  if ((iy | ly) === 0) return 1; // x^0 = 1, even for NaN
  if (hx === 0x3ff00000 && lx === 0) return 1; // 1^y = 1, even for NaN
  if (x !== x || y !== y) return NaN;
  if (x < 0) return NaN;
  const ax = Math.abs(x);
  if (ly === 0) {
    if (iy === 0x7ff00000) {
      // y = ±Infinity (x = 1 returned above).
      if (ix >= 0x3ff00000) return hy >= 0 ? y : 0;
      return hy < 0 ? -y : 0;
    }
    if (iy === 0x3ff00000) return hy < 0 ? 1 / ax : ax; // y = ±1
    if (hy === 0x40000000) return ax * ax; // y = 2
    if (hy === 0x3fe00000) return Math.sqrt(ax); // y = 0.5
  }
  if (lx === 0 && (ix === 0x7ff00000 || ix === 0)) return hy < 0 ? 1 / ax : ax; // x = 0 or Infinity

  // log2(x) = t1 + t2, t1 with its low word zero.
  let t1: number;
  let t2: number;
  if (iy > 0x41e00000) {
    // |y| > 2^31: the result over- or underflows unless x is within 2^-20 of 1.
    if (iy > 0x43f00000) {
      if (ix <= 0x3fefffff) return hy < 0 ? Infinity : 0;
      if (ix >= 0x3ff00000) return hy > 0 ? Infinity : 0;
    }
    if (ix < 0x3fefffff) return hy < 0 ? Infinity : 0;
    if (ix > 0x3ff00000) return hy > 0 ? Infinity : 0;
    // log(x) = t - t^2/2 + t^3/3 - t^4/4 is enough; t has 20 trailing zeros.
    const t = ax - 1;
    const w = t * t * (0.5 - t * (0.3333333333333333 - t * 0.25));
    const u = IVLN2_H * t;
    const v = t * IVLN2_L - w * INV_LN2;
    t1 = withoutLowWord(u + v);
    t2 = v - (t1 - u);
  } else {
    let n = 0;
    let m = ax;
    let im = ix;
    if (im < 0x00100000) {
      // Subnormal: scale into the normal range.
      m *= TWO53;
      n -= 53;
      im = highWord(m);
    }
    const exponent = (im >> 20) - 0x3ff;
    n += exponent;
    const j = im & 0x000fffff;
    // m in [1, 2): reduce around 1 (m < sqrt(3/2)) or 1.5 (m < sqrt(3)), else halve it.
    im = j | 0x3ff00000;
    let k = 0;
    if (j <= 0x3988e) k = 0;
    else if (j < 0xbb67a) k = 1;
    else {
      n += 1;
      im -= 0x00100000;
    }
    m *= twoTo((im >> 20) - 0x3ff - exponent);
    const bp = k === 0 ? 1 : 1.5;
    // ss = s_h + s_l = (m - bp) / (m + bp), with t_h + t_l = m + bp.
    let u = m - bp;
    let v = 1 / (m + bp);
    const ss = u * v;
    const sH = withoutLowWord(ss);
    let tH = fromHighWord(((im >> 1) | 0x20000000) + 0x00080000 + (k << 18));
    let tL = m - (tH - bp);
    const sL = v * ((u - sH * tH) - sH * tL);
    // log(m / bp) = 2ss + 2/3 ss^3 + ss^5 * L(ss^2), times 3/2.
    let s2 = ss * ss;
    let r = s2 * s2 * (L1 + s2 * (L2 + s2 * (L3 + s2 * (L4 + s2 * (L5 + s2 * L6)))));
    r += sL * (sH + ss);
    s2 = sH * sH;
    tH = withoutLowWord(3 + s2 + r);
    tL = r - ((tH - 3) - s2);
    u = sH * tH;
    v = sL * tH + tL * ss;
    // times 2 / (3 ln 2): log2(m) = n + dp + z_h + z_l.
    const pH = withoutLowWord(u + v);
    const pL = v - (pH - u);
    const zH = CP_H * pH;
    const zL = CP_L * pH + pL * CP + (k === 0 ? 0 : DP_L);
    const dpH = k === 0 ? 0 : DP_H;
    t1 = withoutLowWord(((zH + zL) + dpH) + n);
    t2 = zL - (((t1 - n) - dpH) - zH);
  }

  // y * log2(x) = pH + pL, with y split into y1 + (y - y1).
  const y1 = withoutLowWord(y);
  const pL = (y - y1) * t1 + y * t2;
  let pH = y1 * t1;
  let z = pL + pH;
  let j = highWord(z);
  let i = lowWord(z);
  if (j >= 0x40900000) {
    // z >= 1024: overflow, unless exactly 1024 and the tail keeps it below.
    if (((j - 0x40900000) | i) !== 0) return Infinity;
    if (pL + OVT > z - pH) return Infinity;
  } else if ((j & 0x7fffffff) >= 0x4090cc00) {
    // z <= -1075: underflow, with the same care at the boundary.
    if (((j - 0xc090cc00) | i) !== 0) return 0;
    if (pL <= z - pH) return 0;
  }

  // 2^z = 2^n * 2^(z - n), n the nearest integer to z.
  i = j & 0x7fffffff;
  let k = (i >> 20) - 0x3ff;
  let n = 0;
  if (i > 0x3fe00000) {
    n = j + (0x00100000 >> (k + 1));
    k = ((n & 0x7fffffff) >> 20) - 0x3ff;
    const t = fromHighWord(n & ~(0x000fffff >> k));
    n = ((n & 0x000fffff) | 0x00100000) >> (20 - k);
    if (j < 0) n = -n;
    pH -= t;
  }
  const t = withoutLowWord(pL + pH);
  const u = t * LN2_H21;
  const v = (pL - (t - pH)) * LN2 + t * LN2_T21;
  z = u + v;
  const w = v - (z - u);
  const tt = z * z;
  const c = z - tt * (P1 + tt * (P2 + tt * (P3 + tt * (P4 + tt * P5))));
  const r = (z * c) / (c - 2) - (w + z * w);
  z = 1 - (r - z);
  // z * 2^n: exact while the result is normal; a subnormal result is rounded once (z * 2^(n + 60)
  // is still normal and exact, n >= -1075 here, and the multiply by 2^-60 rounds).
  if ((highWord(z) >> 20) + n <= 0) return z * twoTo(n + 60) * twoTo(-60);
  return n > 1023 ? z * twoTo(n - 1) * 2 : z * twoTo(n);
}
