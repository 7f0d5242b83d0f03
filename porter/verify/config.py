"""Kernel config for porter verify: `make tinyconfig`, porter's fragment merged with
`scripts/kconfig/merge_config.sh -m`, then `make olddefconfig`; every fragment value is checked afterwards."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

from porter.errors import PorterError

_LINE = re.compile(r"^(CONFIG_\w+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_\w+) is not set$")
STAMP = ".porter-config-stamp"


def fragment_path() -> Path:
    return Path(str(resources.files("porter").joinpath("data/verify/pmem.config")))


def parse_config(text: str) -> dict[str, str]:
    """CONFIG_X=value lines (and '# CONFIG_X is not set' as 'n') -> {symbol: value}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        m = _LINE.match(line)
        if m:
            out[m.group(1)] = m.group(2)
            continue
        m = _UNSET.match(line)
        if m:
            out[m.group(1)] = "n"
    return out


def check_config(config_text: str, fragment_text: str) -> list[tuple[str, str, str]]:
    """Fragment symbols whose final value differs: [(symbol, wanted, got)]."""
    final = parse_config(config_text)
    bad = []
    for sym, want in parse_config(fragment_text).items():
        got = final.get(sym, "n")
        if got != want:
            bad.append((sym, want, got))
    return bad


def config_stamp(tree: Path, fragment_text: str) -> str:
    h = hashlib.sha256()
    h.update(str(Path(tree).resolve()).encode())
    h.update(fragment_text.encode())
    for name in ("Makefile",):
        try:
            h.update((Path(tree) / name).read_bytes())
        except OSError:
            pass
    return h.hexdigest()


def configure_steps(tree: Path, build_dir: Path, make_vars: list[str], fragment: Path) -> list[list[str]]:
    """The argv lists that produce build_dir/.config."""
    make = ["make", "-C", str(tree), f"O={build_dir}", *make_vars]
    merge = str(Path(tree) / "scripts" / "kconfig" / "merge_config.sh")
    return [
        make + ["tinyconfig"],
        ["sh", merge, "-m", "-O", str(build_dir), str(build_dir / ".config"), str(fragment)],
        make + ["olddefconfig"],
    ]


def ensure_config(tree: Path, build_dir: Path, run, make_vars: list[str], fragment: Path | None = None) -> bool:
    """Create build_dir/.config unless an identical one is already there. `run(argv, label)` runs a step.
    Returns True when the config was (re)generated."""
    fragment = fragment or fragment_path()
    frag_text = fragment.read_text()
    stamp = config_stamp(tree, frag_text)
    stamp_file = build_dir / STAMP
    cfg = build_dir / ".config"
    if cfg.exists() and stamp_file.exists() and stamp_file.read_text().strip() == stamp:
        return False
    if not (Path(tree) / "scripts" / "kconfig" / "merge_config.sh").exists():
        raise PorterError(f"{tree}: no scripts/kconfig/merge_config.sh (not a kernel tree?)")
    build_dir.mkdir(parents=True, exist_ok=True)
    for argv, label in zip(configure_steps(tree, build_dir, make_vars, fragment),
                           ("tinyconfig", "merge fragment", "olddefconfig")):
        run(argv, label, cwd=build_dir)
    bad = check_config(cfg.read_text(), frag_text)
    if bad:
        desc = ", ".join(f"{s}={g} (wanted {w})" for s, w, g in bad)
        raise PorterError(f"kernel config does not take porter's fragment: {desc}")
    stamp_file.write_text(stamp + "\n")
    return True
