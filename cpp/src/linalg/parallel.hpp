// parallel.hpp — independent loop iterations split across the machine's cores.
//
// Interface: `parallel_for(n, work, body)` calls body(begin, end) on
// contiguous ranges covering [0, n), on up to hardware_concurrency()
// threads when `work` (the caller's estimate of the loop's cost in
// elementary operations) is large enough to pay for starting them, else
// once on the calling thread.  Bodies must write disjoint memory, so the
// result does not depend on the number of threads (no reductions across
// ranges); an exception in any range is rethrown on the calling thread.
// Helper threads follow the caller's InterruptScope (interrupt.hpp): a
// body's check_interrupt() stops every range once the caller's fires,
// while only the calling thread runs the scope's callback.
// Only the large crossed models reach the threshold: their Schur
// complement and its inverse dominate a fit and split by columns/levels.
#pragma once

#include <algorithm>
#include <exception>
#include <optional>
#include <thread>
#include <vector>

#include "optim/interrupt.hpp"

namespace glmmfast {

// Item visited i-th of n when taken alternately from the two ends (0, n-1,
// 1, n-2, ...): parallel_for's contiguous ranges then get equal shares of
// work that falls off steadily along the items (the columns of a lower
// triangle).
inline int alternate_ends(int i, int n) { return i % 2 == 0 ? i / 2 : n - 1 - i / 2; }

// ~1 ms of work: below it starting a thread costs a noticeable fraction.
constexpr long kParallelMinWork = 2'000'000;

template <class Body>
void parallel_for(int n, long work, Body&& body) {
    static const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    const int nthreads = work < kParallelMinWork ? 1 : std::min(hw, n);
    if (nthreads <= 1) {
        if (n > 0) body(0, n);
        return;
    }
    std::vector<std::exception_ptr> errors(nthreads);
    std::vector<std::thread> pool;
    pool.reserve(nthreads - 1);
    InterruptScope* scope = InterruptScope::current();
    auto run = [&](int t) {
        try {
            std::optional<InterruptScope::Follow> follow;
            if (t > 0) follow.emplace(scope);
            body(static_cast<int>(static_cast<long>(n) * t / nthreads),
                 static_cast<int>(static_cast<long>(n) * (t + 1) / nthreads));
        } catch (...) {
            errors[t] = std::current_exception();
        }
    };
    for (int t = 1; t < nthreads; ++t) pool.emplace_back(run, t);
    run(0);
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace glmmfast
