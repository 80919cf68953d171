// compois_series.cpp — see compois_series.hpp.
#include "family/compois_series.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace glmmfast {

namespace {

constexpr double kTailTolerance = 1e-17;
constexpr long kMaxTerms = 10'000'000;

struct Term {
    double j, w, g;  // index, T_j / T_m, log j!
};

}  // namespace

CompoisCumulants compois_cumulants(double x, double nu) {
    CompoisCumulants out;
    if (!(nu > 0) || !std::isfinite(x) || !std::isfinite(nu)) {
        out.log_z = out.mean = out.var = std::numeric_limits<double>::quiet_NaN();
        return out;
    }
    const double mode_real = std::exp(x / nu);
    const double m = std::floor(std::min(mode_real, 1e15));
    const double g_m = std::lgamma(m + 1.0);
    const double log_t_m = m * x - nu * g_m;

    thread_local std::vector<Term> terms;
    terms.clear();
    terms.push_back({m, 1.0, g_m});
    double sum = 1.0;
    // right of the mode: log (T_j / T_{j-1}) = x - nu log j, falling in j
    {
        double lw = 0.0, g = g_m;
        for (double j = m + 1.0; j - m < kMaxTerms; j += 1.0) {
            const double lj = std::log(j);
            lw += x - nu * lj;
            g += lj;
            const double w = std::exp(lw);
            terms.push_back({j, w, g});
            sum += w;
            const double rho = std::exp(x - nu * std::log(j + 1.0));
            if (rho < 1.0 && w * rho / (1.0 - rho) < kTailTolerance * sum) break;
        }
    }
    // left of the mode: log (T_{j-1} / T_j) = nu log j - x, falling as j falls
    {
        double lw = 0.0, g = g_m;
        for (double j = m; j >= 1.0 && m - j < kMaxTerms; j -= 1.0) {
            const double lj = std::log(j);
            lw += nu * lj - x;
            g -= lj;
            const double w = std::exp(lw);
            terms.push_back({j - 1.0, w, g});
            sum += w;
            const double rho = j > 1.0 ? std::exp(nu * std::log(j - 1.0) - x) : 0.0;
            if (rho < 1.0 && w * rho / (1.0 - rho) < kTailTolerance * sum) break;
        }
    }
    out.log_z = log_t_m + std::log(sum);
    double ey = 0.0, eg = 0.0;
    for (const Term& t : terms) {
        ey += t.w * (t.j - m);
        eg += t.w * (t.g - g_m);
    }
    ey /= sum;
    eg /= sum;
    double vy = 0, vyg = 0, vg = 0, k3 = 0, yyg = 0, ygg = 0, ggg = 0;
    for (const Term& t : terms) {
        const double dy = t.j - m - ey, dg = t.g - g_m - eg, w = t.w;
        vy += w * dy * dy;
        vyg += w * dy * dg;
        vg += w * dg * dg;
        k3 += w * dy * dy * dy;
        yyg += w * dy * dy * dg;
        ygg += w * dy * dg * dg;
        ggg += w * dg * dg * dg;
    }
    out.mean = m + ey;
    out.mean_g = g_m + eg;
    out.var = vy / sum;
    out.c_yg = vyg / sum;
    out.c_gg = vg / sum;
    out.k3 = k3 / sum;
    out.c_yyg = yyg / sum;
    out.c_ygg = ygg / sum;
    out.c_ggg = ggg / sum;
    return out;
}

namespace {

CompoisAtMean solve_at_mean(double mu, double nu);

// The log density, score and information of one observation each need the
// inversion at the same (mu, nu) within a PIRLS step: a direct-mapped
// per-thread cache keyed on their exact bits returns a solved one.
struct CachedInversion {
    double mu = std::numeric_limits<double>::quiet_NaN(), nu = 0.0;
    CompoisAtMean value{};
};
constexpr int kCacheBits = 13;
constexpr std::size_t kCacheSlots = std::size_t{1} << kCacheBits;  // 8192

std::size_t cache_slot(double mu, double nu) {
    std::uint64_t a, b;
    std::memcpy(&a, &mu, sizeof a);
    std::memcpy(&b, &nu, sizeof b);
    const std::uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return static_cast<std::size_t>(h >> (64 - kCacheBits));  // the product's top bits
}

}  // namespace

CompoisAtMean compois_at_mean(double mu, double nu) {
    thread_local std::vector<CachedInversion> cache(kCacheSlots);
    CachedInversion& slot = cache[cache_slot(mu, nu)];
    if (slot.mu == mu && slot.nu == nu) return slot.value;
    slot.value = solve_at_mean(mu, nu);
    slot.mu = mu;
    slot.nu = nu;
    return slot.value;
}

namespace {

CompoisAtMean solve_at_mean(double mu, double nu) {
    const double log_mu = std::log(mu);
    const double shifted = mu + (nu - 1.0) / (2.0 * nu);
    double x = mu > 1.0 && shifted > 0.5 ? nu * std::log(shifted) : log_mu;
    CompoisCumulants k = compois_cumulants(x, nu);
    double f = std::log(k.mean) - log_mu;
    for (int it = 0; it < 100 && std::isfinite(f) && std::abs(f) > 1e-15; ++it) {
        double step = -f * k.mean / k.var;
        // Newton on log E Y(x), which increases with x (derivative Var Y / E Y); a step that does not
        // reduce |f| is halved
        bool accepted = false;
        for (int half = 0; half < 60 && !accepted; ++half, step *= 0.5) {
            const CompoisCumulants trial = compois_cumulants(x + step, nu);
            const double f_trial = std::log(trial.mean) - log_mu;
            if (std::isfinite(f_trial) && std::abs(f_trial) <= std::abs(f)) {
                x += step;
                k = trial;
                f = f_trial;
                accepted = true;
            }
        }
        if (!accepted || std::abs(step) <= 1e-15 * std::max(1.0, std::abs(x))) break;
    }
    return {x, k};
}

}  // namespace

}  // namespace glmmfast
