"""The glmmfast command line: dispatch, output, JSON document, errors and exit statuses."""

from __future__ import annotations

import json

import numpy as np
import pytest

import glmmfast
from glmmfast import cli

from conftest import fit_case


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_version(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"glmmfast {glmmfast.__version__}"


def test_datasets_lists_every_bundled_dataset(capsys):
    status, out, _ = run(capsys, "datasets")
    lines = out.splitlines()
    assert status == 0 and [ln.split()[0] for ln in lines] == glmmfast.datasets.names()
    assert all(glmmfast.datasets.describe(ln.split()[0]) in ln for ln in lines)


def test_fit_prints_the_summary(capsys, grouseticks):
    status, out, _ = run(capsys, "fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", "grouseticks", "--family", "poisson")
    m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson")
    assert status == 0 and out == m.summary_text()


def test_json_matches_the_fit_and_the_reference(capsys, reference):
    """--json carries every estimate of the fit; they agree with glmmTMB's fit of the same model (R)."""
    status, out, _ = run(capsys, "fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", "grouseticks",
                         "--family", "poisson", "--link", "log", "--json")
    assert status == 0
    doc = json.loads(out)
    m = fit_case("gt_m1")
    assert doc["model"] == "glmer" and doc["family"] == "poisson" and doc["link"] == "log"
    assert doc["fixef"] == pytest.approx(m.fixef.to_dict(), rel=1e-10)
    assert doc["se"] == pytest.approx(m.se.to_dict(), rel=1e-10)
    assert np.allclose(doc["vcov"]["matrix"], m.vcov.to_numpy(), rtol=1e-10)
    assert doc["vcov"]["names"] == list(m.fixef.index)
    assert list(doc["theta"].values()) == pytest.approx(list(m.theta), rel=1e-10)
    for k in ("loglik", "aic", "bic", "deviance"):
        assert doc[k] == pytest.approx(getattr(m, k), rel=1e-12)
    assert doc["varcorr"][0]["var2"] is None
    assert doc["ngroups"] == {"LOCATION": 63} and doc["nobs"] == 403
    assert doc["converged"] is True and doc["messages"] == []
    ref = reference["gt_m1"]
    tmb = ref["glmmTMB"]
    assert doc["deviance"] == pytest.approx(tmb["m2ll"], abs=1e-3)
    for name, se in tmb["se"].items():
        assert doc["fixef"][name] == pytest.approx(tmb["fixef"][name], abs=0.05 * se)
        assert doc["se"][name] == pytest.approx(se, rel=1e-3)
    assert doc["varcorr"][0]["sdcor"] == pytest.approx(ref["varcorr"][0]["sdcor"], rel=2e-3)


def test_no_random_terms_fits_a_glm(capsys):
    status, out, _ = run(capsys, "fit", "TICKS ~ YEAR", "--data", "grouseticks", "--family", "poisson", "--json")
    doc = json.loads(out)
    assert status == 0 and doc["model"] == "glm" and "theta" not in doc
    assert doc["aic"] == pytest.approx(5486.4, abs=0.05)  # R: AIC(glm(TICKS ~ YEAR, poisson))


def test_reads_csv_with_factor_columns(capsys, tmp_path, grouseticks):
    path = tmp_path / "ticks.csv"
    grouseticks.to_csv(path, index=False)
    status, out, _ = run(capsys, "fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", str(path),
                         "--family", "poisson", "--factor", "YEAR", "--factor", "LOCATION", "--json")
    doc = json.loads(out)
    m = glmmfast.glmer("TICKS ~ YEAR + (1 | LOCATION)", grouseticks, family="poisson")
    assert status == 0 and doc["data"] == "ticks"
    assert doc["fixef"] == pytest.approx(m.fixef.to_dict(), rel=1e-6)


def test_text_columns_of_a_csv_are_factors(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("y,g\n1,b\n2,a\n3,b\n")
    df = cli.read_data(str(path))
    assert list(df["g"].cat.categories) == ["a", "b"]


def test_reads_parquet(capsys, tmp_path, cbpp):
    pytest.importorskip("pyarrow")
    path = tmp_path / "cbpp.parquet"
    cbpp.to_parquet(path)
    status, out, _ = run(capsys, "fit", "cbind(incidence, size - incidence) ~ period + (1 | herd)",
                         "--data", str(path), "--family", "binomial", "--json")
    m = glmmfast.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    assert status == 0 and json.loads(out)["deviance"] == pytest.approx(m.deviance, rel=1e-10)


@pytest.mark.parametrize("argv, fragment", [
    (["fit", "TICKS ~ YEARX + (1 | LOCATION)", "--data", "grouseticks", "--family", "poisson"], "YEARX"),
    (["fit", "TICKS ~ YEAR + (1 |", "--data", "grouseticks", "--family", "poisson"], "grouping factor"),
    (["fit", "TICKS ~ YEAR", "--data", "no_such_file.csv"], "no_such_file.csv"),
    (["fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", "grouseticks", "--family", "poison"], "poison"),
    (["fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", "grouseticks", "--family", "poisson", "--link", "logit"],
     "logit"),
    (["fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", "grouseticks", "--family", "poisson", "--reml"], "--reml"),
    (["fit", "TICKS ~ YEAR", "--data", "grouseticks", "--factor", "NOPE"], "NOPE"),
    (["fit", "TICKS ~ YEAR"], "--data"),
    (["fit", "TICKS ~ YEAR", "--data", "grouseticks", "--nAGQ", "two"], "nAGQ"),
    (["frobnicate"], "frobnicate"),
    ([], "command"),
])
def test_usage_errors_exit_2_with_one_line(capsys, argv, fragment):
    status, out, err = run(capsys, *argv)
    message = [ln for ln in err.splitlines() if ln.startswith("glmmfast: error:")]
    assert status == 2 and out == ""
    assert len(message) == 1 and fragment in message[0]
    assert "Traceback" not in err


def test_unreadable_file_is_a_usage_error(capsys, tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    status, _, err = run(capsys, "fit", "y ~ x", "--data", str(path))
    assert status == 2 and "bad.parquet" in err and len(err.splitlines()) == 1


def test_nagq_is_passed_to_glmer(capsys):
    """nAGQ = 0 reaches glmer; values glmer does not take come back as its own error."""
    status, out, _ = run(capsys, "fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", "grouseticks",
                         "--family", "poisson", "--nAGQ", "0", "--json")
    assert status == 0 and json.loads(out)["nAGQ"] == 0
    status, _, err = run(capsys, "fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", "grouseticks",
                         "--family", "poisson", "--nAGQ", "-3")
    assert status == 2 and "nAGQ" in err


def test_gaussian_mixed_model_goes_to_lmer(capsys, monkeypatch):
    """gaussian identity with random terms -> glmmfast.lmer with REML as asked, or a clear error without it."""
    calls = []

    def fake_lmer(formula, data, REML=True):
        calls.append((formula, REML))
        raise glmmfast.ConvergenceError("stop here")

    monkeypatch.setattr(glmmfast, "lmer", fake_lmer, raising=False)
    status, _, err = run(capsys, "fit", "Reaction ~ Days + (Days | Subject)", "--data", "sleepstudy", "--ml")
    assert status == 1 and calls == [("Reaction ~ Days + (Days | Subject)", False)] and "fit failed" in err
    run(capsys, "fit", "Reaction ~ Days + (1 | Subject)", "--data", "sleepstudy")
    assert calls[-1][1] is True  # REML by default, as lme4
    monkeypatch.delattr(glmmfast, "lmer")
    status, _, err = run(capsys, "fit", "Reaction ~ Days + (1 | Subject)", "--data", "sleepstudy")
    assert status == 2 and "lmer" in err


def test_failed_fit_exits_1(capsys, monkeypatch):
    def failing(*args, **kwargs):
        raise glmmfast.ConvergenceError("PIRLS did not converge")

    monkeypatch.setattr(glmmfast, "glmer", failing)
    status, out, err = run(capsys, "fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", "grouseticks",
                           "--family", "poisson")
    assert status == 1 and out == "" and err.strip() == "glmmfast: error: the fit failed: PIRLS did not converge"


def test_module_entry_point_runs():
    import subprocess
    import sys
    from pathlib import Path
    env = {"PYTHONPATH": str(Path(glmmfast.__file__).parent.parent)}
    import os
    env = {**os.environ, **env}
    r = subprocess.run([sys.executable, "-m", "glmmfast", "--version"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stdout.strip() == f"glmmfast {glmmfast.__version__}"


def test_help_lists_every_family(capsys):
    status, out, _ = run(capsys, "fit", "--help")
    assert status == 0
    for family in ("gaussian", "poisson", "binomial", "Gamma", "inverse.gaussian", "nbinom2"):
        assert family in out


def test_nbinom2_estimates_theta_as_glmer_nb(capsys):
    status, out, _ = run(capsys, "fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", "grouseticks",
                         "--family", "nbinom2", "--json")
    doc = json.loads(out)
    ref = glmmfast.glmer_nb("TICKS ~ YEAR + (1 | LOCATION)", glmmfast.datasets.load("grouseticks"))
    assert status == 0 and doc["nb_theta"] == pytest.approx(ref.nb_theta, rel=1e-6)
    assert doc["deviance"] == pytest.approx(ref.deviance, abs=1e-6)
    status, _, err = run(capsys, "fit", "TICKS ~ YEAR", "--data", "grouseticks", "--family", "nbinom2")
    assert status == 2 and "needs random-effects terms" in err


def test_directory_is_named_as_such(capsys, tmp_path):
    status, _, err = run(capsys, "fit", "y ~ 1", "--data", str(tmp_path))
    assert status == 2 and "is a directory" in err and err.count("\n") == 1


def test_name_sets_the_data_line(capsys):
    status, out, _ = run(capsys, "fit", "TICKS ~ YEAR + (1 | LOCATION)", "--data", "grouseticks",
                         "--family", "poisson", "--name", "ticks2024")
    assert status == 0 and "   Data: ticks2024\n" in out
