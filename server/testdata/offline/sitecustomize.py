# Loaded by Python (through PYTHONPATH) in the real-tools tests: any name
# lookup other than 127.0.0.1 and localhost is written to $PTU_OFFLINE_LOG and
# refused, so a test fails when az or the SDK tries to reach anything but ptu.
import os
import socket

_getaddrinfo = socket.getaddrinfo
_log = os.environ.get("PTU_OFFLINE_LOG")


def _guarded(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name not in ("127.0.0.1", "localhost", "::1"):
        if _log:
            with open(_log, "a") as f:
                f.write(name + "\n")
        raise socket.gaierror(socket.EAI_NONAME, "blocked by the ptu test: " + name)
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _guarded
