/* The relaxed-SIMD intrinsics XNNPACK's wasmrelaxedsimd kernels call, for clang 16.
 *
 * Clang 16 (Debian 12's clang-16) knows the relaxed-SIMD builtins, but its wasm_simd128.h
 * (and Emscripten 3.1.6's) declares none of the wasm_*_relaxed_* intrinsics, which arrived
 * in clang 17's header. tools/xnnpack.sh force-includes this file (-include) when it builds
 * the wasm-relaxed variants; it maps each intrinsic the kernels use onto its builtin, with
 * the argument order of clang 17's header. It knows nothing of XNNPACK beyond that list.
 */
#ifndef MVB_WASM_RELAXED_SIMD_H
#define MVB_WASM_RELAXED_SIMD_H

#include <wasm_simd128.h>

#if defined(__wasm_relaxed_simd__) && defined(__clang_major__) && __clang_major__ < 17

typedef signed char mvb_rs_i8x16 __attribute__((__vector_size__(16), __aligned__(16)));
typedef short mvb_rs_i16x8 __attribute__((__vector_size__(16), __aligned__(16)));
typedef int mvb_rs_i32x4 __attribute__((__vector_size__(16), __aligned__(16)));
typedef float mvb_rs_f32x4 __attribute__((__vector_size__(16), __aligned__(16)));

/* NAME(a, b) and NAME(a, b, c): the builtin on a and b (and c) seen as vectors of A (and C). */
#define MVB_RS_FN static __inline__ v128_t __attribute__((__always_inline__, __nodebug__))
#define MVB_RS_2(name, builtin, A) \
  MVB_RS_FN name(v128_t a, v128_t b) { return (v128_t)builtin((A)a, (A)b); }
#define MVB_RS_3(name, builtin, A, C) \
  MVB_RS_FN name(v128_t a, v128_t b, v128_t c) { return (v128_t)builtin((A)a, (A)b, (C)c); }

/* a * b + c and -(a * b) + c, fused or not */
MVB_RS_3(wasm_f32x4_relaxed_madd, __builtin_wasm_relaxed_madd_f32x4, mvb_rs_f32x4, mvb_rs_f32x4)
MVB_RS_3(wasm_f32x4_relaxed_nmadd, __builtin_wasm_relaxed_nmadd_f32x4, mvb_rs_f32x4, mvb_rs_f32x4)
MVB_RS_2(wasm_f32x4_relaxed_min, __builtin_wasm_relaxed_min_f32x4, mvb_rs_f32x4)
MVB_RS_2(wasm_f32x4_relaxed_max, __builtin_wasm_relaxed_max_f32x4, mvb_rs_f32x4)
/* lanes of a where c (the mask) is set, of b where it is clear */
MVB_RS_3(wasm_i16x8_relaxed_laneselect, __builtin_wasm_relaxed_laneselect_i16x8, mvb_rs_i16x8, mvb_rs_i16x8)
MVB_RS_3(wasm_i32x4_relaxed_laneselect, __builtin_wasm_relaxed_laneselect_i32x4, mvb_rs_i32x4, mvb_rs_i32x4)
/* a's bytes picked by b's indices */
MVB_RS_2(wasm_i8x16_relaxed_swizzle, __builtin_wasm_relaxed_swizzle_i8x16, mvb_rs_i8x16)
MVB_RS_2(wasm_i16x8_relaxed_q15mulr, __builtin_wasm_relaxed_q15mulr_s_i16x8, mvb_rs_i16x8)
/* each 32-bit lane of c plus the four products of a's int8 and b's int7 bytes in that lane */
MVB_RS_3(wasm_i32x4_relaxed_dot_i8x16_i7x16_add, __builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4, mvb_rs_i8x16,
         mvb_rs_i32x4)
MVB_RS_2(wasm_i16x8_relaxed_dot_i8x16_i7x16, __builtin_wasm_relaxed_dot_i8x16_i7x16_s_i16x8, mvb_rs_i8x16)

#undef MVB_RS_2
#undef MVB_RS_3
#undef MVB_RS_FN
#endif
#endif
