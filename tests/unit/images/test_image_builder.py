"""images/build.py's decisions that need no Docker: keys, hashes, selection, progress lines."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BUILDER = Path(__file__).resolve().parents[3] / "images" / "build.py"


@pytest.fixture(scope="module")
def build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kajitori_image_builder", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_rootfs_key_ignores_package_order_but_not_packages(build: ModuleType) -> None:
    assert build.Rootfs(("curl", "procps")).key == build.Rootfs(("procps", "curl")).key
    assert build.Rootfs(("curl",)).key != build.Rootfs(("curl", "procps")).key
    assert build.Rootfs(("curl",)).key != build.Rootfs(("curl",), variant="buildd").key


def test_inputs_hash_follows_content_and_mode(build: ModuleType, tmp_path: Path) -> None:
    recipe = build.Recipe("sample", "kajitori/sample:1")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    script = tmp_path / "run.sh"
    script.write_text("echo one\n")
    first = build.inputs_hash(tmp_path, recipe)
    assert build.inputs_hash(tmp_path, recipe) == first
    script.chmod(0o755)
    after_mode = build.inputs_hash(tmp_path, recipe)
    assert after_mode != first
    script.write_text("echo two\n")
    assert build.inputs_hash(tmp_path, recipe) not in (first, after_mode)


def test_inputs_hash_follows_the_base_rootfs(build: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\n")
    one = build.Recipe("sample", "kajitori/sample:1", rootfs=build.Rootfs(("curl",)))
    two = build.Recipe("sample", "kajitori/sample:1", rootfs=build.Rootfs(("curl", "procps")))
    assert build.inputs_hash(tmp_path, one) != build.inputs_hash(tmp_path, two)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param([], ["pause", "busybox", "nginx", "tools", "python-client", "node"], id="all-in-build-order"),
        pytest.param(["node", "pause"], ["pause", "node"], id="short-names"),
        pytest.param(["nginx:1.22", "busybox"], ["busybox", "nginx"], id="tag-and-name"),
    ],
)
def test_select_keeps_build_order(build: ModuleType, names: list[str], expected: list[str]) -> None:
    assert [r.name for r in build.select(names)] == expected


def test_select_names_unknown_images(build: ModuleType) -> None:
    with pytest.raises(build.BuildError, match="unknown image redis"):
        build.select(["pause", "redis"])


def test_every_recipe_has_its_folder_and_dockerfile(build: ModuleType) -> None:
    for recipe in build.RECIPES:
        assert (recipe.folder / "Dockerfile").is_file(), recipe.name


def test_progress_marks_steps_done_or_failed(build: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    progress = build.Progress()
    with progress.step("first"):
        pass
    with pytest.raises(RuntimeError), progress.step("second"):
        raise RuntimeError("boom")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("] ", 1)[1].split(" (")[0] for line in lines] == [
        "first ...", "✓ first", "second ...", "✗ second",
    ]
