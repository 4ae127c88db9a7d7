"""Write lrdbench estimators (and data models) in Python.

One module, standard library only; numpy is used when it is installed (the series then
arrives as a read-only ``numpy.ndarray`` of float64, otherwise as an ``array.array('d')``).
It implements the process plugin protocol of ``docs/process-plugins.md``::

    from lrdbench_plugin import Plugin, Param, Estimate, PluginError

    plugin = Plugin("mine", version="0.1.0")

    @plugin.estimator("lag1", family="temporal", estimand="H",
                      params=[Param("shift", "float", default=0.0, min=-1, max=1)])
    def lag1(x, shift):
        ...
        return Estimate(h, stderr=0.05)      # or just a float

    if __name__ == "__main__":
        plugin.serve()

The host checks parameters against the declared schema and fills defaults before a call, so a
function receives every declared parameter as a keyword argument. Raise ``PluginError(kind,
message)`` for a typed error (``invalid_input``, ``insufficient_data``, ``parameter``,
``numerical``, ``non_convergence``, ``internal``); any other exception becomes ``internal``
with its message, and its traceback goes to standard error. Anything printed goes to standard
error too: the protocol owns standard output.
"""

import math
import os
import struct
import sys
import time
import traceback
from array import array

try:  # numpy is optional.
    import numpy as _np
except Exception:  # pragma: no cover - depends on the environment
    _np = None

__all__ = ["Plugin", "Param", "Estimate", "Fit", "Generated", "PluginError", "PROTOCOL"]

#: The protocol this module speaks: the first bytes of the greeting.
PROTOCOL = b"LRDWRK01"

_PARAM_KINDS = {"int": 0, "float": 1, "bool": 2, "str": 3, "enum": 4, "list": 5}
_FAMILIES = {
    "temporal": 0,
    "geometric": 1,
    "spectral": 2,
    "wavelet": 3,
    "multifractal": 4,
    "other": 5,
}
_CI_METHODS = {"asymptotic": 0, "regression": 1, "calibrated": 2, "gls": 3, "bootstrap": 4}
_ERROR_KINDS = {
    "invalid_input": 0,
    "insufficient_data": 1,
    "parameter": 2,
    "numerical": 3,
    "non_convergence": 4,
    "internal": 5,
}


class PluginError(Exception):
    """A typed failure of a call: ``kind`` is one of the protocol's error kinds."""

    def __init__(self, kind, message):
        if kind not in _ERROR_KINDS:
            raise ValueError("unknown error kind %r (valid: %s)" % (kind, ", ".join(_ERROR_KINDS)))
        super().__init__(message)
        self.kind = kind
        self.message = message


class Param:
    """One parameter of a component's schema."""

    def __init__(self, name, kind, default=None, min=None, max=None, choices=(), help=""):
        if kind not in _PARAM_KINDS:
            raise ValueError("unknown parameter kind %r (valid: %s)" % (kind, ", ".join(_PARAM_KINDS)))
        self.name, self.kind, self.default = name, kind, default
        self.min, self.max, self.choices, self.help = min, max, tuple(choices), help


class Fit:
    """The points and line of a scaling-law fit (what reports draw)."""

    def __init__(self, x_label, y_label, x, y, fitted):
        self.x_label, self.y_label = x_label, y_label
        self.x, self.y, self.fitted = list(x), list(y), list(fitted)


class Estimate:
    """An estimator's result. ``ci`` is ``(low, high, level, method)`` with method one of
    ``asymptotic``, ``regression``, ``calibrated``, ``gls``, ``bootstrap``."""

    def __init__(self, value, stderr=None, ci=None, r_squared=None, fit=None, warnings=(),
                 diagnostics=None, estimand=None):
        self.value, self.stderr, self.ci, self.r_squared = value, stderr, ci, r_squared
        self.fit, self.warnings = fit, list(warnings)
        self.diagnostics = dict(diagnostics or {})
        self.estimand = estimand


class Generated:
    """A model's result: the series, its true values (e.g. ``{"H": 0.7}``) and warnings."""

    def __init__(self, values, truth=None, warnings=()):
        self.values, self.truth, self.warnings = values, dict(truth or {}), list(warnings)


class _Component:
    def __init__(self, func, name, kind, family, estimand, description, reference, params):
        if family not in _FAMILIES:
            raise ValueError("unknown family %r (valid: %s)" % (family, ", ".join(_FAMILIES)))
        self.func, self.name, self.kind, self.family = func, name, kind, family
        self.estimand, self.description, self.reference = estimand, description, reference
        self.params = list(params)


class Plugin:
    """A set of components served over the process plugin protocol."""

    def __init__(self, name, version="0.1.0"):
        self.name, self.version = name, version
        self.components = []

    def estimator(self, name, family="other", estimand="H", description="", reference="",
                  params=()):
        """Decorator declaring ``func(series, **params)`` as an estimator."""

        def register(func):
            self.components.append(_Component(func, name, 0, family, estimand,
                                              description or (func.__doc__ or "").strip(),
                                              reference, params))
            return func

        return register

    def model(self, name, family="other", estimand="H", description="", reference="", params=()):
        """Decorator declaring ``func(length, seed, **params)`` as a data model."""

        def register(func):
            self.components.append(_Component(func, name, 1, family, estimand,
                                              description or (func.__doc__ or "").strip(),
                                              reference, params))
            return func

        return register

    def unavailable(self, name, why, family="other", estimand="H"):
        """Declares an estimator that cannot run here (a missing package): it is listed with
        ``why`` as its description, and every call fails with ``internal`` and ``why``."""

        def fail(_series, **_params):
            raise PluginError("internal", why)

        self.components.append(_Component(fail, name, 0, family, estimand,
                                          "unavailable: " + why, "", ()))

    # -- the protocol -------------------------------------------------------------------

    def serve(self):
        """Runs the worker loop on standard input and output until the input closes."""
        out = os.fdopen(os.dup(1), "wb")
        # The protocol owns the real standard output; anything else printed (by the plugin,
        # a library, or C code writing to descriptor 1) goes to standard error instead.
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        inp = sys.stdin.buffer
        _watch_parent()
        out.write(_frame(PROTOCOL + b"\x00" + _str("%s %s" % (self.name, self.version))))
        out.write(_frame(self._descriptor()))
        out.flush()
        while True:
            header = inp.read(4)
            if len(header) < 4:
                return
            (length,) = struct.unpack("<I", header)
            payload = inp.read(length)
            if len(payload) < length:
                return
            out.write(_frame(self._answer(payload)))
            out.flush()

    def _descriptor(self):
        w = _Writer()
        w.str(self.name)
        w.str(str(self.version))
        w.str("process-1")
        w.u32(len(self.components))
        for c in self.components:
            w.str(c.name)
            w.u8(c.kind)
            w.u8(_FAMILIES[c.family])
            w.str(c.estimand)
            w.str(c.description)
            w.str(c.reference)
            w.u32(len(c.params))
            for p in c.params:
                w.str(p.name)
                w.u8(_PARAM_KINDS[p.kind])
                if p.default is None:
                    w.u8(0)
                else:
                    w.u8(1)
                    w.value(p.kind, p.default)
                w.opt_f64(p.min)
                w.opt_f64(p.max)
                w.u32(len(p.choices))
                for ch in p.choices:
                    w.str(ch)
                w.str(p.help)
        return w.bytes()

    def _answer(self, payload):
        usage = _Usage()
        try:
            r = _Reader(payload)
            tag = r.u8()
            if tag == 1:
                index = r.u32()
                params = r.params()
                n = r.u64()
                while r.pos % 8:
                    r.u8()
                if len(payload) - r.pos != 8 * n:
                    raise PluginError("invalid_input", "the series does not hold %d points" % n)
                series = _series(payload, r.pos, n)
                comp = self._component(index, 0)
                usage.start()
                result = comp.func(series, **params)
                usage.stop()
                return _estimate_reply(result, comp, usage)
            if tag == 2:
                index = r.u32()
                length = r.u64()
                seed = r.u64()
                params = r.params()
                comp = self._component(index, 1)
                usage.start()
                result = comp.func(length, seed, **params)
                usage.stop()
                return _generated_reply(result, usage)
            raise PluginError("internal", "unknown request tag %d" % tag)
        except PluginError as e:
            usage.stop()
            return _error_reply(e.kind, e.message, usage)
        except Exception as e:  # the plugin's own bug: typed as internal, traceback kept
            usage.stop()
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            return _error_reply("internal", "%s: %s" % (type(e).__name__, e), usage)

    def _component(self, index, kind):
        if index >= len(self.components) or self.components[index].kind != kind:
            raise PluginError("internal", "no component %d of that kind" % index)
        return self.components[index]


def _watch_parent():
    """Ends this process when the host that started it is gone, even in the middle of a
    call that would never return: a daemon thread checks the parent every 100 ms."""
    import threading

    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.1)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="lrdbench-parent-watch", daemon=True).start()


def _series(payload, start, n):
    if _np is not None:
        return _np.frombuffer(payload, dtype="<f8", count=n, offset=start)
    a = array("d")
    a.frombytes(payload[start:start + 8 * n])
    if sys.byteorder == "big":
        a.byteswap()
    return a


class _Usage:
    """Wall and CPU time of a call, and the process's memory around it."""

    def __init__(self):
        self.wall = self.cpu = self.rss_before = self.peak = 0
        self._t0 = None

    def start(self):
        try:  # reset the resident high-water mark, so the peak is this call's
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        self.rss_before = _status_kib("VmRSS") * 1024
        self._t0 = (time.perf_counter_ns(), time.thread_time_ns())

    def stop(self):
        if self._t0 is None:
            return
        wall0, cpu0 = self._t0
        self._t0 = None
        self.wall = time.perf_counter_ns() - wall0
        self.cpu = time.thread_time_ns() - cpu0
        self.peak = max(_status_kib("VmHWM") * 1024, self.rss_before)

    def write(self, w):
        for v in (self.wall, self.cpu, self.rss_before, self.peak, 0):
            w.u64(max(0, int(v)))


def _status_kib(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _estimate_reply(result, comp, usage):
    if not isinstance(result, Estimate):
        result = Estimate(result)
    w = _Writer()
    w.u8(1)
    usage.write(w)
    w.f64(float(result.value))
    w.str(result.estimand or comp.estimand)
    w.opt_f64(result.stderr)
    if result.ci is None:
        w.u8(0)
    else:
        low, high, level, method = result.ci
        if method not in _CI_METHODS:
            raise_method = "unknown interval method %r (valid: %s)" % (method, ", ".join(_CI_METHODS))
            return _error_reply("internal", raise_method, usage)
        w.u8(1)
        w.f64(float(low))
        w.f64(float(high))
        w.f64(float(level))
        w.u8(_CI_METHODS[method])
    w.opt_f64(result.r_squared)
    if result.fit is None:
        w.u8(0)
    else:
        w.u8(1)
        w.str(result.fit.x_label)
        w.str(result.fit.y_label)
        w.f64s(result.fit.x)
        w.f64s(result.fit.y)
        w.f64s(result.fit.fitted)
    w.u32(len(result.warnings))
    for s in result.warnings:
        w.str(str(s))
    w.u32(len(result.diagnostics))
    for name, values in result.diagnostics.items():
        w.str(name)
        w.f64s(values)
    return w.bytes()


def _generated_reply(result, usage):
    if not isinstance(result, Generated):
        result = Generated(result)
    w = _Writer()
    w.u8(2)
    usage.write(w)
    w.f64s(result.values)
    w.u32(len(result.truth))
    for name, value in result.truth.items():
        w.str(name)
        w.f64(float(value))
    w.u32(len(result.warnings))
    for s in result.warnings:
        w.str(str(s))
    return w.bytes()


def _error_reply(kind, message, usage):
    w = _Writer()
    w.u8(3)
    w.u8(1)
    usage.write(w)
    w.u8(_ERROR_KINDS[kind])
    w.str(str(message))
    return w.bytes()


def _frame(payload):
    return struct.pack("<I", len(payload)) + payload


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<I", len(b)) + b


class _Writer:
    def __init__(self):
        self.parts = []

    def bytes(self):
        return b"".join(self.parts)

    def u8(self, v):
        self.parts.append(struct.pack("<B", v))

    def u32(self, v):
        self.parts.append(struct.pack("<I", v))

    def u64(self, v):
        self.parts.append(struct.pack("<Q", v))

    def f64(self, v):
        self.parts.append(struct.pack("<d", v))

    def str(self, s):
        self.parts.append(_str(s))

    def opt_f64(self, v):
        if v is None:
            self.u8(0)
        else:
            self.u8(1)
            self.f64(float(v))

    def f64s(self, xs):
        if _np is not None:
            data = _np.ascontiguousarray(xs, dtype="<f8").tobytes()
        else:
            a = array("d", (float(x) for x in xs))
            if sys.byteorder == "big":
                a.byteswap()
            data = a.tobytes()
        self.u64(len(data) // 8)
        self.parts.append(data)

    def value(self, kind, v):
        if kind == "int":
            self.u8(0)
            self.parts.append(struct.pack("<q", int(v)))
        elif kind == "float":
            self.u8(1)
            self.f64(float(v))
        elif kind == "bool":
            self.u8(2)
            self.u8(1 if v else 0)
        elif kind in ("str", "enum"):
            self.u8(3)
            self.str(str(v))
        else:
            self.u8(4)
            self.f64s(v)


class _Reader:
    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise PluginError("internal", "truncated request")
        s = self.buf[self.pos:self.pos + n]
        self.pos += n
        return s

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def str(self):
        return self.take(self.u32()).decode("utf-8")

    def params(self):
        out = {}
        for _ in range(self.u32()):
            name = self.str()
            tag = self.u8()
            if tag == 0:
                out[name] = struct.unpack("<q", self.take(8))[0]
            elif tag == 1:
                out[name] = struct.unpack("<d", self.take(8))[0]
            elif tag == 2:
                out[name] = self.u8() == 1
            elif tag == 3:
                out[name] = self.str()
            elif tag == 4:
                n = self.u64()
                out[name] = list(struct.unpack("<%dd" % n, self.take(8 * n)))
            else:
                raise PluginError("internal", "unknown parameter tag %d" % tag)
        return out


def finite_or_error(value, what="the estimate"):
    """``value`` as a float, or a ``numerical`` error when it is NaN or infinite."""
    value = float(value)
    if not math.isfinite(value):
        raise PluginError("numerical", "%s is not finite (%r)" % (what, value))
    return value
