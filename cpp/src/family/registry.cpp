// registry.cpp — the table of distributions (see registry.hpp): one line per
// family, naming the factory its own file defines.
#include "family/registry.hpp"

#include <stdexcept>
#include <utility>

namespace glmmfast {

// Factories, each defined in the distribution's own file.
std::unique_ptr<Distribution> make_gaussian();
std::unique_ptr<Distribution> make_binomial();
std::unique_ptr<Distribution> make_poisson();
std::unique_ptr<Distribution> make_gamma();
std::unique_ptr<Distribution> make_inverse_gaussian();
std::unique_ptr<Distribution> make_negative_binomial();
std::unique_ptr<Distribution> make_nbinom1();
std::unique_ptr<Distribution> make_truncated_poisson();
std::unique_ptr<Distribution> make_truncated_nbinom2();
std::unique_ptr<Distribution> make_beta();
std::unique_ptr<Distribution> make_betabinomial();
std::unique_ptr<Distribution> make_student_t();
std::unique_ptr<Distribution> make_truncated_nbinom1();
std::unique_ptr<Distribution> make_genpois();
std::unique_ptr<Distribution> make_compois();
std::unique_ptr<Distribution> make_tweedie();

namespace {

using Factory = std::unique_ptr<Distribution> (*)();

const std::vector<std::pair<std::string, Factory>>& table() {
    static const std::vector<std::pair<std::string, Factory>> t = {
        {"gaussian", make_gaussian},
        {"binomial", make_binomial},
        {"poisson", make_poisson},
        {"Gamma", make_gamma},
        {"inverse.gaussian", make_inverse_gaussian},
        {"negative.binomial", make_negative_binomial},
        {"nbinom1", make_nbinom1},
        {"truncated_poisson", make_truncated_poisson},
        {"truncated_nbinom2", make_truncated_nbinom2},
        {"beta", make_beta},
        {"betabinomial", make_betabinomial},
        {"t", make_student_t},
        {"truncated_nbinom1", make_truncated_nbinom1},
        {"genpois", make_genpois},
        {"compois", make_compois},
        {"tweedie", make_tweedie},
    };
    return t;
}

}  // namespace

std::vector<std::string> family_names() {
    std::vector<std::string> names;
    for (const auto& entry : table()) names.push_back(entry.first);
    return names;
}

std::unique_ptr<Distribution> make_distribution(const std::string& name) {
    for (const auto& [n, make] : table())
        if (n == name) return make();
    throw std::invalid_argument("unknown family '" + name + "'");
}

std::vector<std::string> link_names(const std::string& family) { return make_distribution(family)->links(); }

}  // namespace glmmfast
