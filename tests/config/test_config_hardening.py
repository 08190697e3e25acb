"""Config loading hardening (issue 24, items 8 and 18): deep nesting, huge integers, the size limit checked
before reading, non-standard YAML tags; strict booleans, snake_case keys and nested bind attributes."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ddbkit.config import ConfigError, load_component_file, load_component_text, parse_table_config
from ddbkit_infra.cli import cli

ROOT = Path(__file__).resolve().parents[2]

TABLE = """components:
  - name: t
    type: dynamodb-table
    config:
      tableName: Things
      attributeDefinitions: [{attributeName: id, attributeType: S}]
      keySchema: [{attributeName: id, keyType: HASH}]
"""

HOSTILE: dict[str, tuple[str, str]] = {
    "50000 nested [": ("[" * 50_000, "yaml.depth"),
    "20000 nested maps": ("{a: " * 20_000 + "1" + "}" * 20_000, "yaml.depth"),
    "1400 nested block lists": ("".join(" " * i + "-\n" for i in range(1400)) + " " * 1400 + "- 1\n",
                                "yaml.depth"),
    "100000-digit integer": ("tableName: " + "9" * 100_000 + "\n", "yaml.scalar"),
    "python tag on a list": ("components: !!python/object/apply:os.system ['true']\n", "yaml.tag"),
    "custom tag on a map": ("components:\n  - !custom {name: a, type: b}\n", "yaml.tag"),
    "python tag on a scalar": ("components: !!python/name:os.system\n", "yaml.tag"),
    "set tag": ("components: !!set {a, b}\n", "yaml.tag"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_yaml_is_one_config_error_from_the_loader(name: str) -> None:
    text, rule = HOSTILE[name]
    with pytest.raises(ConfigError) as exc:
        load_component_text(text)
    (issue,) = exc.value.issues
    assert issue.rule == rule
    assert "\n" not in str(issue)
    assert "9999999999" not in str(exc.value)  # never the value


@pytest.mark.parametrize("name", ["python tag on a list", "custom tag on a map"])
def test_tag_error_names_the_line(name: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_component_text(HOSTILE[name][0])
    issue = exc.value.issues[0]
    assert issue.line == (1 if name == "python tag on a list" else 2)
    assert "tag" in issue.message


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_yaml_is_one_config_error_from_the_cli(name: str, tmp_path: Path) -> None:
    text, rule = HOSTILE[name]
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_component_file(path)
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert f"[{rule}]" in res.output and "Traceback" not in res.output


def test_hostile_yaml_through_the_cli_subprocess(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(HOSTILE["50000 nested ["][0])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "ddbkit_infra.cli", "validate", str(path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "[yaml.depth]" in proc.stderr


def test_ordinary_nesting_and_standard_tags_still_load() -> None:
    text = TABLE + "      tags: !!map {team: !!str data}\n"
    assert load_component_text(text).tables["t"].tags == {"team": "data"}


def test_a_60_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w") as f:
        f.write(TABLE)
        line = "# " + "x" * 1022 + "\n"
        for _ in range(60 * 1024):
            f.write(line)
    assert path.stat().st_size > 60_000_000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as exc:
            load_component_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exc.value.issues[0].rule == "yaml.size"
    assert peak < 5_000_000  # it was 155 MB: the file is never read whole
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 50_000  # KiB


def test_a_file_growing_past_the_limit_after_stat_is_still_refused(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # a FIFO or /proc file reports size 0: the read itself is bounded
    path = tmp_path / "c.yaml"
    path.write_text(TABLE + "# " + "x" * (1024 * 1024) + "\n")
    real_stat = Path.stat

    def small_stat(self: Path, **kw: Any) -> os.stat_result:
        st = real_stat(self, **kw)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 0,
                               int(st.st_atime), int(st.st_mtime), int(st.st_ctime)))

    monkeypatch.setattr(Path, "stat", small_stat)
    with pytest.raises(ConfigError) as exc:
        load_component_file(path)
    assert exc.value.issues[0].rule == "yaml.size"


def test_a_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"tableName: \xff\xfe\n")
    with pytest.raises(ConfigError) as exc:
        load_component_file(path)
    assert exc.value.issues[0].rule == "file.read"


def test_complex_mapping_keys_are_a_config_error() -> None:
    with pytest.raises(ConfigError) as exc:
        load_component_text("? [a, b]\n: 1\n")
    assert exc.value.issues[0].rule == "yaml.syntax"


# -- item 18: strict booleans, snake_case keys, nested bind attributes, the bare config form --------

BASE: dict[str, Any] = {
    "tableName": "Things",
    "attributeDefinitions": [{"attributeName": "id", "attributeType": "S"}],
    "keySchema": [{"attributeName": "id", "keyType": "HASH"}],
}


@pytest.mark.parametrize("value", ["yes", "true", "on", 1, "1"])
def test_booleans_are_strict(value: Any) -> None:
    data = {**BASE, "streamSpecification": {"streamEnabled": value, "streamViewType": "NEW_IMAGE"}}
    with pytest.raises(ConfigError) as exc:
        parse_table_config(data)
    (issue,) = exc.value.issues
    assert issue.path == ("streamSpecification", "streamEnabled")
    assert issue.rule == "schema.bool_type" and "true or false" in issue.message


def test_quoted_yes_in_yaml_is_refused() -> None:
    text = TABLE + "      streamSpecification: {streamEnabled: 'yes', streamViewType: NEW_IMAGE}\n"
    with pytest.raises(ConfigError) as exc:
        load_component_text(text)
    assert exc.value.issues[0].rule == "schema.bool_type" and exc.value.issues[0].line == 8


def test_unquoted_yaml_booleans_still_work() -> None:
    text = TABLE + "      streamSpecification: {streamEnabled: yes, streamViewType: NEW_IMAGE}\n"
    cfg = load_component_text(text).tables["t"]
    assert cfg.stream_specification is not None and cfg.stream_specification.stream_enabled is True


@pytest.mark.parametrize("snake,camel,path", [
    ("table_name", "tableName", ("table_name",)),
    ("billing_mode", "billingMode", ("billing_mode",)),
    ("stream_specification", "streamSpecification", ("stream_specification",)),
])
def test_snake_case_keys_are_refused_with_the_camel_case_name(snake: str, camel: str, path: tuple[str, ...]) -> None:
    data = {k: v for k, v in BASE.items()}
    value: Any = {"table_name": "Things", "billing_mode": "PAY_PER_REQUEST",
                  "stream_specification": {"streamEnabled": True, "streamViewType": "NEW_IMAGE"}}[snake]
    if snake == "table_name":
        del data["tableName"]
    data[snake] = value
    with pytest.raises(ConfigError) as exc:
        parse_table_config(data)
    issues = [i for i in exc.value.issues if i.path == path]
    assert len(issues) == 1, exc.value.issues
    assert issues[0].rule == "schema.snake-case" and f"did you mean {camel!r}" in issues[0].message
    # no second "required field is missing" for the camelCase name the user did write (in snake_case)
    assert not any(i.rule == "schema.missing" and i.path == (camel,) for i in exc.value.issues)


def test_nested_snake_case_key_and_python_api_by_name_still_works() -> None:
    data = {**BASE, "streamSpecification": {"stream_enabled": True}}
    with pytest.raises(ConfigError) as exc:
        parse_table_config(data)
    assert exc.value.issues[0].path == ("streamSpecification", "stream_enabled")
    assert "did you mean 'streamEnabled'" in exc.value.issues[0].message
    # Python code builds models with the snake_case attribute names (keyword arguments), as before
    from ddbkit.config import StreamSpecification
    assert StreamSpecification(stream_enabled=True).stream_enabled is True


def test_bind_attributes_are_top_level_names() -> None:
    text = TABLE + """  - name: api
    type: function
    binds:
      - {to: t, access: read, attributes: [name, address.city]}
"""
    with pytest.raises(ConfigError) as exc:
        load_component_text(text)
    (issue,) = exc.value.issues
    assert issue.rule == "bind.attributes"
    assert issue.path == ("components", 1, "binds", 0, "attributes", 1)
    assert "top-level" in issue.message and "address" in issue.message


@pytest.mark.parametrize("name", ["tags[0]", "a.b"])
def test_bind_attributes_refuse_paths(name: str) -> None:
    text = TABLE + f"""  - name: api
    type: function
    binds:
      - {{to: t, access: read, attributes: ['{name}']}}
"""
    with pytest.raises(ConfigError) as exc:
        load_component_text(text)
    assert exc.value.issues[0].rule == "bind.attributes"


def test_the_documented_bare_config_form_loads(tmp_path: Path) -> None:
    """docs/configuration.md: a file holding only a table's config (no components:, no config: key)."""
    doc = (ROOT / "docs" / "configuration.md").read_text()
    start = doc.index("<!-- bare-config -->")
    block = doc[start:].split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded = load_component_text(block)
    assert list(loaded.tables) == [yaml.safe_load(block)["tableName"]]
    path = tmp_path / "bare.yaml"
    path.write_text(block)
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 0, res.output
    # a bare `config:` mapping (the component form without components:) is not accepted
    with pytest.raises(ConfigError) as exc:
        load_component_text(yaml.safe_dump({"config": yaml.safe_load(block)}))
    assert exc.value.issues[0].rule == "file.shape"
