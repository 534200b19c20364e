"""`app/api`'s models and errors import with nothing but the standard library (the add-on vendors them)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "app" / "api"
#: The modules that do HTTP; everything else in app/api is the vendorable contract.
NETWORK_MODULES = {"transport.py", "client.py", "stream.py"}


def test_contract_modules_import_only_the_standard_library_and_each_other():
    for path in sorted(API.glob("*.py")):
        if path.name in NETWORK_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name.startswith("app.api"), f"{path.name} imports {name}"
                if name.startswith("app.api."):
                    assert name.split(".")[2] + ".py" not in NETWORK_MODULES, f"{path.name} imports {name}"


def test_contract_imports_without_site_packages():
    modules = sorted(p.stem for p in API.glob("*.py") if p.name not in NETWORK_MODULES and p.stem != "__init__")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            + "; ".join(f"import app.api.{m}" for m in modules)
            + "; bad = [m for m in sys.modules if m.split('.')[0] not in sys.stdlib_module_names and m.split('.')[0] not in ('app', '__main__')]"
            + "; assert not bad, bad")
    # -S: no site-packages at all, -I: no PYTHONPATH, no user site.
    subprocess.run([sys.executable, "-S", "-I", "-c", code, str(ROOT)], check=True)
