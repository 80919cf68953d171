// mean_terms.hpp — the mean of a block of observations in the forms the log
// densities and unit deviances use, and the range a distribution's mean
// must lie in.
//
// Interface:
//   MeanRange                 Real, NonNegative, Positive or UnitInterval
//   admissible_mean(r, mu)    whether mu lies in range r (NaN never does)
//   MeanTerms                 per observation of a block: mu, log mu,
//                             1/mu, log(1 - mu) and whether mu is admissible,
//                             and the block's first row (where a family
//                             parameter that varies by row is read: row_values.hpp),
//                             and the block's response terms (log y, log(1 - y):
//                             response_terms.hpp) where the distribution reads them
//   mean_terms_at_mu(...)     those terms from given means (R's dev.resids
//                             and aic take mu, not eta)
//   kMeanBlock, for_each_block   the block loop the whole-vector functions
//                             run: a link fills the terms of a block, the
//                             distribution consumes them, both in cache, so
//                             neither pays a virtual call per observation.
// A link computes the terms from eta itself (link.hpp): exact where R's
// linkinv clamps, e.g. the logit's log mu = -log1p(e^-eta).  For the unit
// interval only log_mu and log1m_mu are set; otherwise mu always, log_mu and
// inv_mu as the distribution asks (Distribution::mean_terms_needed).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

namespace glmmfast {

enum class MeanRange { Real, NonNegative, Positive, UnitInterval };

inline bool admissible_mean(MeanRange r, double mu) {
    switch (r) {
        case MeanRange::Real: return true;
        case MeanRange::NonNegative: return mu >= 0;
        case MeanRange::Positive: return mu > 0;
        case MeanRange::UnitInterval: return mu >= 0 && mu <= 1;
    }
    return true;
}

// Which of the optional terms a distribution reads (bit flags).
// kBothLogProbabilities: on the unit interval, log mu and log(1 - mu) for
// every observation (by default only those y can use: log mu where y > 0,
// log(1 - mu) where y < 1).
enum MeanTermFlags : unsigned { kLogMu = 1u, kInvMu = 2u, kBothLogProbabilities = 4u };

constexpr Eigen::Index kMeanBlock = 256;

// Storage inside the object (at most kMeanBlock entries): a block's terms
// cost no allocation, which matters on small models evaluated many times.
struct MeanTerms {
    using Block = Eigen::Array<double, Eigen::Dynamic, 1, Eigen::ColMajor, kMeanBlock, 1>;
    Block mu, log_mu, inv_mu, log1m_mu;
    Eigen::Array<bool, Eigen::Dynamic, 1, Eigen::ColMajor, kMeanBlock, 1> admissible;
    Eigen::Index first_row = 0;  // the block's entry i is observation first_row + i
    // The block's log y and log(1 - y) (entry i: observation first_row + i), set by Family where the
    // distribution's response_terms_needed asks for them, else null.
    const double* log_y = nullptr;
    const double* log1m_y = nullptr;
    // Sizes every array for a block of m <= kMeanBlock observations.
    void resize(Eigen::Index m) {
        mu.resize(m);
        log_mu.resize(m);
        inv_mu.resize(m);
        log1m_mu.resize(m);
        admissible.resize(m);
    }
};

// The terms of given means mu in range r (log1m_mu only for the unit interval).
inline void mean_terms_at_mu(const Eigen::Ref<const Eigen::ArrayXd>& mu, MeanRange r, MeanTerms& m) {
    m.resize(mu.size());
    for (Eigen::Index i = 0; i < mu.size(); ++i) {
        m.mu[i] = mu[i];
        m.log_mu[i] = std::log(mu[i]);
        if (r == MeanRange::UnitInterval) m.log1m_mu[i] = std::log1p(-mu[i]);
        else m.inv_mu[i] = 1.0 / mu[i];
        m.admissible[i] = admissible_mean(r, mu[i]);
    }
}

// f(start, length) over consecutive blocks of at most kMeanBlock of n.
template <class F>
void for_each_block(Eigen::Index n, F&& f) {
    for (Eigen::Index s = 0; s < n; s += kMeanBlock) f(s, std::min(kMeanBlock, n - s));
}

}  // namespace glmmfast
