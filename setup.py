"""Installs the Python module `noisesched` into a Python environment, offline (docs/python.md):

    python3 -m venv --system-site-packages ~/ns && ~/ns/bin/pip install --no-build-isolation .

The module is built by the project's CMake (the same build as the program: scripts/build.sh, or the
folder NOISESCHED_BUILD_DIR names), against the LibTorch that this Python's torch loads; this file
only builds its target and packs build/python/noisesched into the wheel.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
BUILD = pathlib.Path(os.environ.get("NOISESCHED_BUILD_DIR", ROOT / "build")).resolve()


class BuildWithCMake(build_ext):
    def run(self):
        if not (BUILD / "CMakeCache.txt").exists():
            generator = ["-G", "Ninja"] if shutil.which("ninja") else []
            subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(BUILD), *generator,
                                   "-DCMAKE_BUILD_TYPE=Release",
                                   f"-DPython_EXECUTABLE={os.path.realpath(sys.executable)}"])
        subprocess.check_call(["cmake", "--build", str(BUILD), "--target", "noisesched_python"])
        package = BUILD / "python" / "noisesched"
        if not any(package.glob("_core*.so")):
            sys.exit(f"noisesched: {package} holds no _core module; is NOISESCHED_PYTHON_MODULE "
                     "on in that build (CMake prints 'Python module: ...')?")
        target = pathlib.Path(self.build_lib) / "noisesched"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__"))


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True  # the wheel holds a compiled module: tag it for this platform


VERSION = re.search(r"project\(noisesched VERSION ([\d.]+)",
                    (ROOT / "CMakeLists.txt").read_text()).group(1)

(BUILD / "setuptools").mkdir(parents=True, exist_ok=True)

setup(
    name="noisesched",
    version=VERSION,
    description="Noise schedules, samplers and trained models of noisesched, from Python",
    packages=[],
    python_requires=">=3.9",
    cmdclass={"build_ext": BuildWithCMake},
    distclass=BinaryDistribution,
    zip_safe=False,
    # setuptools' scratch folders inside the CMake build, not beside the sources
    options={"build": {"build_base": str(BUILD / "setuptools")},
             "egg_info": {"egg_base": str(BUILD / "setuptools")}},
)
