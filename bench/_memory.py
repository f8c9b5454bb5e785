"""Resident-memory readings of the current process (Linux ``/proc/self/status``).

The training benchmark reports a loop's peak memory as ``VmHWM`` (the resident-set
high-water mark) after the loop minus ``VmRSS`` right before the model was built. The
high-water mark is reset after the warm-up (writing ``5`` to ``/proc/self/clear_refs``,
Linux >= 4.0) so one-off costs of the first steps that are given back -- JIT compilers'
working memory, tracing -- do not count, while everything the loop keeps (parameters,
gradients, optimizer state, cached buffers, compiled code) does. Where the reset is not
allowed the peak covers the whole process life (``ru_maxrss``), which the report says.
"""
import resource


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def rss_mb():
    """Current resident set size in MB (10^6 bytes)."""
    return _status_kb("VmRSS") * 1024 / 1e6


def reset_peak():
    """Reset the high-water mark to the current RSS; True if the kernel allowed it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_mb():
    """Resident high-water mark in MB since the last ``reset_peak`` (or process start)."""
    try:
        return _status_kb("VmHWM") * 1024 / 1e6
    except (OSError, RuntimeError):
        # ru_maxrss is in KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
