"""Build the xssh Python package with the system's CMake, SWIG and libssh2.

    pip install --no-build-isolation ./bindings/python

runs CMake on the repository (the parent of bindings/), builds libxssh and the
SWIG module for the interpreter running pip, and packages both (the module
finds libxssh next to itself through an $ORIGIN rpath).
"""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.path.join(self.build_temp, "cmake")
        os.makedirs(build_dir, exist_ok=True)
        subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                               "-DXSSH_TESTS=OFF", "-DXSSH_LUA=OFF", "-DXSSH_RUBY=OFF",
                               "-DPython3_EXECUTABLE=" + sys.executable])
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "xssh_python", "xssh_python_stubs", "-j", "2"])
        target = os.path.dirname(os.path.abspath(self.get_ext_fullpath(ext.name)))
        os.makedirs(target, exist_ok=True)
        for f in glob.glob(os.path.join(build_dir, "python", "xssh", "*")):
            shutil.copy2(f, target)
        for lib in glob.glob(os.path.join(build_dir, "libxssh.so*")):
            dst = os.path.join(target, os.path.basename(lib))
            if os.path.islink(lib):
                if os.path.lexists(dst):
                    os.remove(dst)
                os.symlink(os.readlink(lib), dst)
            else:
                shutil.copy2(lib, dst)


setup(ext_modules=[Extension("xssh._core", sources=[])], cmdclass={"build_ext": CMakeBuild})
