// interrupt.hpp — cooperative interruption of long engine work (Ctrl-C,
// cancelled parallel jobs).
//
// Interface:
//   Interrupted        what the engine throws when a check fires.  Nothing
//                      catches it inside the engine (only PirlsError is a
//                      trial-point failure); models stay usable: the next
//                      call starts from a consistent state.
//   CancelFlag         a flag any thread may set (relaxed atomic) to stop
//                      the work running under it.
//   InterruptScope     RAII: for as long as it lives, check_interrupt() on
//                      the constructing thread throws Interrupted once its
//                      flag is set, or once its callback (called on this
//                      thread only, at most every `interval` of wall time
//                      per thread) returns true.  Scopes nest (the inner
//                      one is polled).
//   InterruptScope::Follow  lets a helper thread (parallel_for) see a
//                      scope's flag and its having fired, never its
//                      callback: only the thread that installed a callback
//                      runs it (it may need that thread's interpreter).
//   check_interrupt()  what the engine's loops call, once per unit of work
//                      of ~0.1-10 ms: one thread-local read, one relaxed
//                      atomic load and, with a callback, a clock read
//                      (~10 ns).  No scope: nothing happens.
// The engine knows nothing of what the callback does (the Python binding
// checks for signals there).
#pragma once

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <utility>

namespace glmmfast {

class Interrupted : public std::runtime_error {
public:
    Interrupted() : std::runtime_error("engine work interrupted") {}
};

class CancelFlag {
public:
    void cancel() { set_.store(true, std::memory_order_relaxed); }
    bool cancelled() const { return set_.load(std::memory_order_relaxed); }

private:
    std::atomic<bool> set_{false};
};

// Monotonic wall time in ns for the callback's rate limit.  Linux's coarse
// clock (resolution a few ms, plenty for a 25 ms period) reads in ~8 ns
// where steady_clock takes ~35: it is read at every poll.
inline std::int64_t monotonic_ns() {
#ifdef CLOCK_MONOTONIC_COARSE
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
#else
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
#endif
}

class InterruptScope {
    struct Slot {
        InterruptScope* scope = nullptr;
        bool owner = false;  // the constructing thread (runs the callback)
    };

public:
    // Callback period: frequent enough that a check fires within a small
    // part of the 0.5 s a user tolerates, rare enough that taking the
    // interpreter's lock there costs nothing measurable.
    static constexpr std::chrono::milliseconds kDefaultInterval{25};

    // flag may be null; callback may be empty.  Neither is owned: both must
    // outlive the scope.
    InterruptScope(const CancelFlag* flag, std::function<bool()> callback,
                   std::chrono::nanoseconds interval = kDefaultInterval)
        : flag_(flag), callback_(std::move(callback)), interval_ns_(interval.count()), previous_(slot()) {
        slot() = {this, true};
    }
    ~InterruptScope() { slot() = previous_; }
    InterruptScope(const InterruptScope&) = delete;
    InterruptScope& operator=(const InterruptScope&) = delete;

    // The scope check_interrupt() polls on this thread (null: none).
    static InterruptScope* current() { return slot().scope; }

    // What check_interrupt() does.
    static void check() {
        const Slot& s = slot();
        if (s.scope) s.scope->poll(s.owner);
    }

    // Throws Interrupted if the flag is set or the scope has fired; on the
    // owning thread, runs the callback when `interval` has passed since
    // this thread last ran one (the time is kept per thread, not per
    // scope, so a run of short engine calls, each under its own scope, is
    // still checked every interval).
    void poll(bool owner) {
        if (fired_.load(std::memory_order_relaxed) || (flag_ && flag_->cancelled())) fire();
        if (!owner || !callback_) return;
        const std::int64_t now = monotonic_ns();
        std::int64_t& next = next_callback();
        if (now < next) return;
        next = now + interval_ns_;
        if (callback_()) fire();
    }

    // For the lifetime of a Follow, check_interrupt() on this (helper)
    // thread polls `scope` without its callback.
    class Follow {
    public:
        explicit Follow(InterruptScope* scope) : previous_(slot()) { slot() = {scope, false}; }
        ~Follow() { slot() = previous_; }
        Follow(const Follow&) = delete;
        Follow& operator=(const Follow&) = delete;

    private:
        Slot previous_;
    };

private:
    static Slot& slot() {
        thread_local Slot s;
        return s;
    }
    static std::int64_t& next_callback() {  // ns, monotonic_ns()'s clock
        thread_local std::int64_t t = monotonic_ns() + std::chrono::nanoseconds(kDefaultInterval).count();
        return t;
    }
    [[noreturn]] void fire() {
        fired_.store(true, std::memory_order_relaxed);  // helper threads stop too
        throw Interrupted();
    }

    const CancelFlag* flag_;
    std::function<bool()> callback_;
    std::int64_t interval_ns_;
    std::atomic<bool> fired_{false};
    Slot previous_;
};

// Polled by the engine's loops (see the file comment).
inline void check_interrupt() { InterruptScope::check(); }

}  // namespace glmmfast
