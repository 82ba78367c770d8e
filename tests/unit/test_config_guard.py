"""A config is data: YTE templating and YAML tags are refused; results_dir stays inside unless allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from musclecog.config import (
    check_results_dir,
    config_files_in_command_line,
    refuse_code_in_config,
    refuse_code_in_files,
)
from musclecog.errors import ConfigError
from musclecog.mr.analysis import MRSettings


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed: 1\n__use_yte__: true\n", r"line 2 sets '__use_yte__', which turns on Snakemake's YTE templating"),
        ("__definitions__:\n  - import os\nseed: 1\n", r"line 1 sets '__definitions__'"),
        ("seed: !!python/name:os.system\n", r"line 1 has the YAML tag '!!python/name:os.system', which is refused"),
        ("seed: 1\ncohorts:\n  a: !include other.yaml\n", r"line 3 has the YAML tag '!include', which is refused"),
        ("seed: !!int '3'\n", r"line 1 has the YAML tag '!!int'"),
    ],
)
def test_code_in_a_config_file_is_refused(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"^{path}: {message}"):
        refuse_code_in_config(path)


def test_plain_config_with_question_marks_is_data(tmp_path):
    """Without __use_yte__ Snakemake does not template: '?x' values are just text, and accepted."""
    path = tmp_path / "c.yaml"
    path.write_text("seed: 1\nnote: '?not code'\ncohorts: {a: {simulate: {design: liao}}}\n")
    refuse_code_in_config(path)


def test_the_repository_configs_pass():
    repo = Path(__file__).resolve().parents[2]
    for path in [repo / "config" / "config.yaml", *sorted((repo / "config" / "examples").glob("*.yaml"))]:
        refuse_code_in_config(path)


def test_refusal_exits_with_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("__use_yte__: true\n")
    with pytest.raises(SystemExit) as info:
        refuse_code_in_files([path, tmp_path / "absent.yaml"])
    assert info.value.code == 1
    assert capsys.readouterr().err.startswith(f"musclecog ConfigError: {path}: line 1 sets '__use_yte__'")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--cores", "2", "--configfile", "a.yaml", "b.yaml", "-n"], ["a.yaml", "b.yaml"]),
        (["--configfile=a.yaml", "--config", "x=1"], ["a.yaml"]),
        (["--configfiles", "a.yaml"], ["a.yaml"]),
        (["--configf", "a.yaml"], ["a.yaml"]),
        (["--config", "results_dir=x", "--cores", "1"], ["config/config.yaml"]),
    ],
)
def test_config_files_of_a_command_line(tmp_path, argv, expected):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("seed: 1\n")
    assert config_files_in_command_line(argv, tmp_path) == [tmp_path / e for e in expected]


def test_results_dir_inside_outside(tmp_path):
    assert check_results_dir({"results_dir": "results/x"}, tmp_path) == tmp_path.resolve() / "results" / "x"
    with pytest.raises(ConfigError, match=r"^config: 'results_dir' is '../../somewhere', which resolves to .*outside "
                                          r"the working directory .*Set `allow_outside: true`"):
        check_results_dir({"results_dir": "../../somewhere"}, tmp_path)
    assert check_results_dir({"results_dir": "../elsewhere", "allow_outside": True}, tmp_path) == (
        tmp_path.parent.resolve() / "elsewhere"
    )


def test_mr_resamples_are_bounded():
    with pytest.raises(ConfigError, match=r"mr_settings.nboot = 100,000,000: above the limit of 1,000,000"):
        MRSettings(nboot=10**8)
    with pytest.raises(ConfigError, match=r"mr_settings.presso_n_distribution = 5,000,000: above the limit"):
        MRSettings(presso_n_distribution=5 * 10**6)


def test_size_bounds_name_the_limit():
    from musclecog.config import schema_dir, validate_config

    cfg = {"seed": 1, "gwas": {"g": {"simulate": {"design": "gwas_grip", "n_variants": 10**9}}}}
    with pytest.raises(ConfigError, match=r"^config: 'gwas.g.simulate.n_variants' is 1,000,000,000, above the limit "
                                          r"of 20,000,000"):
        validate_config(cfg, schema_dir(), check_files=False)
