"""The grouseticks walkthrough: the GLM, then the GLMMs of the lme4 tutorial.

Run:  python3 examples/grouseticks.py   (after python3 -m pip install .)
Prints each fit as R prints it (summary.glm, then lme4's summary.merMod).
"""

import glmmfast

df = glmmfast.datasets.load("grouseticks")

print(glmmfast.glm("TICKS ~ YEAR", df, family="poisson"))

formulas = [
    "TICKS ~ YEAR + (1 | LOCATION)",
    "TICKS ~ YEAR + (1 | LOCATION) + (1 | INDEX)",
    "TICKS ~ YEAR + (YEAR | LOCATION)",
    "TICKS ~ YEAR + (1 | LOCATION) + (0 + YEAR | LOCATION)",
    "TICKS ~ YEAR + (0 + YEAR | LOCATION)",
    "TICKS ~ YEAR + cHEIGHT + (1 | INDEX) + (1 | BROOD) + (1 | LOCATION)",
]
fits = {}
for f in formulas:
    fits[f] = glmmfast.glmer(f, df, family="poisson")
    print(fits[f], end="\n\n")

print("AIC comparison:")
for f, m in sorted(fits.items(), key=lambda kv: kv[1].aic):
    print(f"  {m.aic:9.2f}  {f}")

cbpp = glmmfast.datasets.load("cbpp")
print()
print(glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial"))
