// small_block_size.hpp — a level block's size as a compile-time constant where it is small.
//
// Interface: `with_block_size(k, f)` calls f(std::integral_constant<int, k>) for k = 2 or 3 (a random
// slope, (x | g), or two slopes) and f(std::integral_constant<int, 0>) otherwise; `block_size(K, k)` is
// the size inside f (K's value, else the run-time k).  The per-level loops over k x k blocks (the
// block-diagonal factor, the LMM's U'WU and gradient) then unroll for the usual sizes: with k known
// only at run time their two- and three-trip loops cost more than the block's arithmetic
// (sleepstudy: ~350 instructions for one 2 x 2 block's T' C T).  The loops are the same code either
// way, so their arithmetic, and its rounding, is the same.
#pragma once

#include <type_traits>

namespace glmmfast {

template <class F>
decltype(auto) with_block_size(int k, F&& f) {
    if (k == 2) return f(std::integral_constant<int, 2>{});
    if (k == 3) return f(std::integral_constant<int, 3>{});
    return f(std::integral_constant<int, 0>{});
}

template <int K>
constexpr int block_size(std::integral_constant<int, K>, int k) {
    return K > 0 ? K : k;
}

}  // namespace glmmfast
