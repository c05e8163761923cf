"""The packaged console's entry point (PyInstaller runs this as `rtic-console`): the same command line as the wheel's."""

import os
import sys
from pathlib import Path

from console.cli import main

if __name__ == "__main__":
    # The Windows package bundles an official libVLC (with live555 for RTSP) in vlc\ beside the program.
    vlc = Path(sys.executable).resolve().parent / "vlc"
    if (vlc / "libvlc.dll").is_file():
        os.environ.setdefault("PYTHON_VLC_LIB_PATH", str(vlc / "libvlc.dll"))
        os.environ.setdefault("PYTHON_VLC_MODULE_PATH", str(vlc / "plugins"))
    sys.exit(main())
