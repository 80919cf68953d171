// response_terms.hpp — `ResponseTerms`, the per-observation terms of the log
// densities and unit deviances that depend on the response y alone (log y,
// log(1 - y)), computed once per response instead of on every evaluation
// (each PIRLS step and each objective call evaluates the log density or the
// deviance several times at the same y).
//
// Interface:
//   ResponseTermFlags        which terms a distribution reads
//                            (Distribution::response_terms_needed)
//   ResponseTerms(y, flags)  the terms of response y
//   describes(y)             whether they are y's (element by element: the
//                            cache follows a new response, whatever its storage)
// Family holds the terms of the model's response (Family::set_response) and
// builds them afresh for any other y, so a caller passing another response
// gets the same numbers, only slower.  A block's MeanTerms (mean_terms.hpp)
// points into them.  Nothing here knows about models or Python.
#pragma once

#include <Eigen/Core>
#include <cmath>

namespace glmmfast {

enum ResponseTermFlags : unsigned { kLogY = 1u, kLog1mY = 2u };

struct ResponseTerms {
    Eigen::ArrayXd y;        // the response they belong to
    Eigen::ArrayXd log_y;    // log y (kLogY), else empty
    Eigen::ArrayXd log1m_y;  // log(1 - y) as log1p(-y) (kLog1mY), else empty

    ResponseTerms(const Eigen::ArrayXd& response, unsigned flags) : y(response) {
        // std::log per element, not Eigen's vectorised log: the same bits as the expressions they replace
        if (flags & kLogY) log_y = y.unaryExpr([](double v) { return std::log(v); });
        if (flags & kLog1mY) log1m_y = y.unaryExpr([](double v) { return std::log1p(-v); });
    }
    bool describes(const Eigen::ArrayXd& response) const {
        return response.size() == y.size() && (response == y).all();
    }
};

}  // namespace glmmfast
