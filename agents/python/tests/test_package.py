"""The package as a newcomer (and a type checker) meets it: one version source, PEP 561 typing,
loggers named by module, and modules that use only each other's public names."""

import ast
import pathlib
import re
import unittest

import ergowatch

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ergowatch"


def modules():
    return sorted(PACKAGE.rglob("*.py"))


class PackageTest(unittest.TestCase):
    def test_the_version_is_written_once(self):
        pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
        project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
        self.assertNotRegex(project, r'(?m)^version\s*=', "[project] must not repeat the version")
        self.assertRegex(pyproject, r'(?m)^dynamic = \["version"\]')
        self.assertRegex(pyproject, r'version = \{ attr = "ergowatch.__version__" \}')
        self.assertRegex(ergowatch.__version__, r"^\d+\.\d+\.\d+")

    def test_it_ships_its_type_annotations(self):
        self.assertTrue((PACKAGE / "py.typed").is_file())
        self.assertIn('ergowatch = ["py.typed"]', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    def test_every_logger_is_named_by_its_module(self):
        for path in modules():
            with self.subTest(path.name):
                for call in re.findall(r"logging\.getLogger\(([^)]*)\)", path.read_text(encoding="utf-8")):
                    self.assertEqual(call, "__name__", f"{path.relative_to(ROOT)}: getLogger({call})")

    def test_no_module_uses_another_modules_private_names(self):
        for path in modules():
            with self.subTest(path.name):
                tree = ast.parse(path.read_text(encoding="utf-8"))
                ours = set()  # local names bound to ergowatch modules
                for node in ast.walk(tree):
                    if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("ergowatch")):
                        for alias in node.names:
                            self.assertFalse(alias.name.startswith("_") and not alias.name.startswith("__"),
                                             f"{path.name}:{node.lineno} imports private {alias.name}")
                            if node.module is None or node.level > 0 and alias.name in {m.stem for m in modules()}:
                                ours.add(alias.asname or alias.name)
                    elif isinstance(node, ast.Import):
                        for alias in node.names:
                            if alias.name.startswith("ergowatch"):
                                ours.add(alias.asname or alias.name.split(".")[0])
                for node in ast.walk(tree):
                    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ours
                            and node.attr.startswith("_") and not node.attr.startswith("__")):
                        self.fail(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}, private to its module")


if __name__ == "__main__":
    unittest.main()
