// tweedie_series.cpp — the Dunn-Smyth series for the Tweedie density's
// normalising term a(y, phi, p) and its phi and p derivatives (equations in
// tweedie_series.hpp).
#include "family/tweedie_series.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "family/special_functions.hpp"

namespace glmmfast {

namespace {

// Terms more than this far below the largest (in log) are not added: e^-40
// relative is below the rounding of the sum.
constexpr double kTweedieCutoff = 40.0;

// The series' terms: r, log z, log W_j and the start j0 = round(j*) (at least 1).
struct Series {
    double r, log_z, j0;
    Series(double y, double phi, double p)
        : r((2.0 - p) / (p - 1.0)),
          log_z(r * std::log(y) - r * std::log(p - 1.0) - (1.0 + r) * std::log(phi) - std::log(2.0 - p)),
          j0(std::max(1.0, std::round(std::min(
              std::exp((2.0 - p) * std::log(y) - std::log(phi) - std::log(2.0 - p)), 1e15)))) {}
    double log_w(double j) const { return j * log_z - log_factorial(j) - std::lgamma(j * r); }
};

// The terms log W_j of the series that matter, j from first to first + size - 1.
struct SeriesTerms {
    double first = 1.0;
    std::vector<double> log_w;
    double log_max = -INFINITY;
};

SeriesTerms series_terms(double y, double phi, double p) {
    const Series series(y, phi, p);
    const double j0 = series.j0;
    auto log_w = [&](double j) { return series.log_w(j); };
    // Downward from j0 (inclusive), then upward: both stop a cutoff below the largest term seen.
    std::vector<double> down, up;
    double log_max = -INFINITY;
    for (double j = j0; j >= 1.0; j -= 1.0) {
        const double lw = log_w(j);
        log_max = std::max(log_max, lw);
        down.push_back(lw);
        if (lw < log_max - kTweedieCutoff) break;
    }
    for (double j = j0 + 1.0;; j += 1.0) {
        const double lw = log_w(j);
        log_max = std::max(log_max, lw);
        up.push_back(lw);
        if (lw < log_max - kTweedieCutoff) break;
    }
    SeriesTerms s;
    s.first = j0 - static_cast<double>(down.size()) + 1.0;
    s.log_w.assign(down.rbegin(), down.rend());
    s.log_w.insert(s.log_w.end(), up.begin(), up.end());
    s.log_max = log_max;
    return s;
}

}  // namespace

double tweedie_log_a(double y, double phi, double p) {
    // One pass, no storage: the sum is kept relative to the largest term so far.
    const Series series(y, phi, p);
    const double j0 = series.j0;
    auto log_w = [&](double j) { return series.log_w(j); };
    double log_max = log_w(j0), sum = 1.0;
    auto add = [&](double lw) {
        if (lw > log_max) {
            sum = sum * std::exp(log_max - lw) + 1.0;
            log_max = lw;
        } else {
            sum += std::exp(lw - log_max);
        }
        return lw >= log_max - kTweedieCutoff;
    };
    for (double j = j0 - 1.0; j >= 1.0 && add(log_w(j)); j -= 1.0) {}
    for (double j = j0 + 1.0; add(log_w(j)); j += 1.0) {}
    return log_max + std::log(sum) - std::log(y);
}

TweedieLogA tweedie_log_a_derivatives(double y, double phi, double p) {
    const SeriesTerms s = series_terms(y, phi, p);
    const double r = (2.0 - p) / (p - 1.0), q = p - 1.0, t = 2.0 - p;
    const double r1 = -1.0 / (q * q), r2 = 2.0 / (q * q * q);
    const double L = std::log(y) - std::log(q) - std::log(phi);
    const double c1 = r1 * L - r / q + 1.0 / t;
    const double c2 = r2 * L - 2.0 * r1 / q + r / (q * q) + 1.0 / (t * t);
    // Weighted moments, two passes (means first) so the variances do not cancel.
    const std::size_t m = s.log_w.size();
    std::vector<double> w(m), g(m), h(m);
    double sw = 0.0, ej = 0.0, eg = 0.0, eh = 0.0;
    for (std::size_t k = 0; k < m; ++k) {
        const double j = s.first + static_cast<double>(k), jr = j * r;
        const double psi = digamma(jr);
        w[k] = std::exp(s.log_w[k] - s.log_max);
        g[k] = j * c1 - j * r1 * psi;
        h[k] = j * c2 - j * r2 * psi - j * j * r1 * r1 * trigamma(jr);
        sw += w[k];
        ej += w[k] * j;
        eg += w[k] * g[k];
        eh += w[k] * h[k];
    }
    ej /= sw;
    eg /= sw;
    eh /= sw;
    double vj = 0.0, vg = 0.0;
    for (std::size_t k = 0; k < m; ++k) {
        const double dj = s.first + static_cast<double>(k) - ej, dg = g[k] - eg;
        vj += w[k] * dj * dj;
        vg += w[k] * dg * dg;
    }
    vj /= sw;
    vg /= sw;
    TweedieLogA out;
    out.value = s.log_max + std::log(sw) - std::log(y);
    out.d_phi = -(1.0 + r) * ej / phi;
    out.d2_phi = ((1.0 + r) * ej + (1.0 + r) * (1.0 + r) * vj) / (phi * phi);
    out.d_power = eg;
    out.d2_power = eh + vg;
    return out;
}

}  // namespace glmmfast
