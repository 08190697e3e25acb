"""Build hook for ddbkit's one optional C extension, ``ddbkit.core._speedups`` (issue 26).

Everything else is declared in pyproject.toml. The extension decodes DynamoDB's wire JSON straight into Python
values; it is ``optional``: where no C compiler is found the build goes on without it and ddbkit uses its pure
Python codec (the reference, which the extension must match: tests/core/test_speedups.py). It needs only a C
compiler and Python's headers, no Cython. ``DDBKIT_NO_SPEEDUPS=1`` at run time ignores a built extension.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("ddbkit.core._speedups", ["ddbkit/core/_speedups.c"], optional=True,
                             extra_compile_args=["-O2"])])
