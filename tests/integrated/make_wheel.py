"""Build a minimal pure-Python wheel by hand (a zip with METADATA, WHEEL and RECORD), for tests that
need pip to install something offline: PyPI is unreachable from the build machines.

usage: python3 make_wheel.py OUT_DIR NAME VERSION [PACKAGE_DIR]
PACKAGE_DIR (optional) is copied into the wheel as the importable package; without it the wheel holds
a package with an empty __init__.py. Prints the wheel's path.
"""

import base64
import hashlib
import os
import sys
import zipfile


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def main(out_dir, name, version, package_dir=None):
    dist = name.replace("-", "_")
    files = {}
    if package_dir:
        for root, _dirs, names in os.walk(package_dir):
            for n in names:
                if n.endswith(".pyc"):
                    continue
                full = os.path.join(root, n)
                rel = os.path.relpath(full, os.path.dirname(package_dir)).replace(os.sep, "/")
                with open(full, "rb") as f:
                    files[rel] = f.read()
    else:
        files[f"{dist}/__init__.py"] = f"__version__ = {version!r}\n".encode()
    info = f"{dist}-{version}.dist-info"
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: make_wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [record_line(p, d) for p, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    os.makedirs(out_dir, exist_ok=True)
    wheel = os.path.join(out_dir, f"{dist}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(wheel, "w") as z:
        for p, d in files.items():
            z.writestr(p, d)
    print(wheel)


if __name__ == "__main__":
    main(*sys.argv[1:])
