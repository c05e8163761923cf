"""Package layout only: ship the top-level ui/ and resources/ folders inside the wheel.

The product card fixes the repository's top level (console/, ui/, resources/ ...); installed, those
folders become console.ui and console.resources so an installed console finds them beside its code.
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["console", "console.*"]) + ["console.ui", "console.resources"],
    package_dir={"console.ui": "ui", "console.resources": "resources"},
    # The README's pictures stay in the repository; an installed console does not need them.
    exclude_package_data={"console.resources": ["screenshots/*"]},
    package_data={
        "console.ui": ["*.ui"],
        "console.resources": ["**/*"],
        "console.store": ["migrations/*.py", "migrations/*.mako", "migrations/versions/*.py"],
    },
)
