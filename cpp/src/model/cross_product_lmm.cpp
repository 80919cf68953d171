// cross_product_lmm.cpp — the profiled LMM criterion and its gradient from
// cross-products (see cross_product_lmm.hpp for the equations).
#include "model/cross_product_lmm.hpp"

#include <stdexcept>

#include "model/conditional_variance.hpp"
#include "model/lmm_criterion.hpp"
#include "optim/interrupt.hpp"

namespace glmmfast {

namespace {

// The symmetric q x q matrix whose lower triangle has `values` on `pattern`.
SpMat symmetric_from_pattern(int q, const std::vector<std::pair<int, int>>& pattern, const Eigen::VectorXd& values) {
    std::vector<Eigen::Triplet<double>> trip;
    trip.reserve(2 * pattern.size());
    for (size_t k = 0; k < pattern.size(); ++k) {
        const auto [r, c] = pattern[k];
        const double v = values[static_cast<Eigen::Index>(k)];
        trip.emplace_back(r, c, v);
        if (r != c) trip.emplace_back(c, r, v);
    }
    SpMat M(q, q);
    M.setFromTriplets(trip.begin(), trip.end());
    return M;
}

}  // namespace

CrossProductLmm::CrossProductLmm(const std::vector<TermShape>& terms, const std::vector<std::pair<int, int>>& pattern,
                                 LmmCrossProducts products, const std::string& factorization)
    : sys_(terms, pattern, factorization), pattern_(pattern), cp_(std::move(products)) {
    const Eigen::Index qq = q(), pp = cp_.XtWX.cols();
    if (cp_.ZtWZ.size() != static_cast<Eigen::Index>(pattern.size()) || cp_.ZtWX.rows() != qq ||
        cp_.ZtWX.cols() != pp || cp_.ZtWy.size() != qq || cp_.XtWX.rows() != pp || cp_.XtWy.size() != pp)
        throw std::invalid_argument("the cross-products do not match the terms, the pattern and p");
    if (pp >= cp_.n) throw std::invalid_argument("more fixed effects than observations");
    if (!cp_.ZtWZ.allFinite() || !cp_.ZtWX.allFinite() || !cp_.ZtWy.allFinite() || !cp_.XtWX.allFinite() ||
        !cp_.XtWy.allFinite() || !std::isfinite(cp_.ytWy) || !std::isfinite(cp_.log_w_sum))
        throw std::invalid_argument("the cross-products must be finite");
    if (cp_.shift_column >= pp || (cp_.shift_column < 0 && cp_.y_shift != 0.0))
        throw std::invalid_argument("a shift of y needs X's all-ones column");
    ZtWZ_ = symmetric_from_pattern(static_cast<int>(qq), pattern_, cp_.ZtWZ);
    theta_ = sys_.lambda().initial_theta();
    beta_ = beta_response_ = Eigen::VectorXd::Zero(pp);
    u_ = Eigen::VectorXd::Zero(qq);
}

void CrossProductLmm::evaluate(const Eigen::VectorXd& theta) {
    ++n_eval_;
    evaluated_ = false;
    sys_.set_theta(theta);
    theta_ = theta;
    const SpMat& Lambda = sys_.lambda().matrix();
    const SpMat LtC = Lambda.transpose() * ZtWZ_;
    const SpMat UtWU = LtC * Lambda;
    Eigen::VectorXd values(static_cast<Eigen::Index>(pattern_.size()));
    for (size_t k = 0; k < pattern_.size(); ++k)
        values[static_cast<Eigen::Index>(k)] = UtWU.coeff(pattern_[k].first, pattern_[k].second);
    if (!sys_.factor_assembled(values)) throw PirlsError("Cholesky factorisation of Lambda'Z'WZLambda + I failed");
    Eigen::MatrixXd UtWM(q(), p() + 1);
    UtWM.leftCols(p()) = Lambda.transpose() * cp_.ZtWX;
    UtWM.col(p()) = Lambda.transpose() * cp_.ZtWy;
    if (!elim_.compute_from_products(sys_, UtWM, p(), cp_.XtWX))
        throw PirlsError("the fixed-effects block R_X'R_X is not positive definite");
    elim_.solve(sys_, elim_.extra().col(0), cp_.XtWy, u_, beta_);
    beta_response_ = beta_;
    if (cp_.shift_column >= 0) beta_response_[cp_.shift_column] += cp_.y_shift;
    pwrss_ = cp_.ytWy - u_.dot(UtWM.col(p())) - beta_.dot(cp_.XtWy);
    ldL2_ = sys_.log_det_L2();
    ldRX2_ = elim_.log_det_RX2();
    if (!std::isfinite(pwrss_) || !std::isfinite(ldL2_) || !std::isfinite(ldRX2_) || !(pwrss_ > 0.0))
        throw PirlsError("non-finite or zero penalised residual sum of squares");
    evaluated_ = true;
}

void CrossProductLmm::require_evaluated() const {
    if (!evaluated_) throw PirlsError("the model has not been evaluated at a valid theta");
}

double CrossProductLmm::criterion(bool reml) const {
    require_evaluated();
    return lmm_criterion(reml, n(), p(), pwrss_, ldL2_, ldRX2_, cp_.log_w_sum);
}

double CrossProductLmm::deviance(const Eigen::VectorXd& theta, bool reml) {
    evaluate(theta);
    return criterion(reml);
}

double CrossProductLmm::sigma(bool reml) const {
    require_evaluated();
    return lmm_sigma(reml, n(), p(), pwrss_);
}

Eigen::MatrixXd CrossProductLmm::beta_unscaled_vcov() const {
    require_evaluated();
    return elim_.RX().solve(Eigen::MatrixXd::Identity(p(), p()));
}

Eigen::MatrixXd CrossProductLmm::cond_var(int t) const {
    require_evaluated();
    return conditional_variance(sys_, t);
}

Eigen::VectorXd CrossProductLmm::gradient(bool reml) const {
    require_evaluated();
    check_interrupt();
    const int pp = p();
    const SpMat& Lambda = sys_.lambda().matrix();
    const SpMat S = symmetric_from_pattern(q(), pattern_, sys_.pattern_selected_inverse());
    const SpMat K = Lambda.transpose() * ZtWZ_;  // Lambda' Z'WZ
    const double df = reml ? n() - pp : n();
    const Eigen::VectorXd Lu = Lambda * u_;
    Eigen::VectorXd g = cp_.ZtWy - ZtWZ_ * Lu;
    g.noalias() -= cp_.ZtWX * beta_;
    const double coef = -2.0 * df / pwrss_;
    // REML: G = A^{-1} U'WX (q x p) and (B - Z'WX) V.
    Eigen::MatrixXd G, BV;
    const bool with_rx = reml && pp > 0;
    if (with_rx) {
        G = sys_.solve_Lt(elim_.RZX());
        const Eigen::MatrixXd LG = Lambda * G;
        Eigen::MatrixXd B = ZtWZ_ * LG;
        B -= cp_.ZtWX;
        BV = B * elim_.RX().solve(Eigen::MatrixXd::Identity(pp, pp));
    }
    const auto& terms = sys_.lambda().terms();
    std::vector<Eigen::MatrixXd> Gt;
    int start = 0;
    for (const TermShape& t : terms) {
        const int k = t.k;
        Eigen::MatrixXd Gterm = Eigen::MatrixXd::Zero(k, k);
        for (int l = 0; l < t.nlevels; ++l) {
            const int st = start + l * k;
            for (int c = 0; c < k; ++c)
                for (int a = c; a < k; ++a) {
                    double v = 2.0 * S.col(st + c).dot(K.col(st + a)) + coef * g[st + a] * u_[st + c];
                    if (with_rx) v += 2.0 * BV.row(st + a).dot(G.row(st + c));
                    Gterm(a, c) += v;
                }
        }
        start += k * t.nlevels;
        Gt.push_back(std::move(Gterm));
    }
    return sys_.lambda().chain_gradient(Gt);
}

}  // namespace glmmfast
