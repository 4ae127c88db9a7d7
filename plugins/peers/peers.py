"""The Python peers of lrdbench as estimators of a process plugin.

Each peer is called as docs/peer-measurements.md measured it: fGn in, H out, the peer's own
defaults except where a default treats fGn as a path. A peer whose package does not import
is declared unavailable: `plugins list` shows why, and its calls fail with that reason.
"""

import importlib

from lrdbench_plugin import Estimate, Plugin, PluginError, finite_or_error

plugin = Plugin("peers", version="0.1.0")


def _try_import(name):
    try:
        return importlib.import_module(name), None
    except Exception as e:  # any failure to import makes the peer unavailable, with why
        return None, "%s is not installed here (%s: %s)" % (name, type(e).__name__, e)


np, NUMPY_MISSING = _try_import("numpy")


def _ladder(n):
    """The DFA window ladder of the measurements: 16, x1.25, up to n/4."""
    wins, w = [], 16.0
    while int(w) <= n // 4:
        if not wins or int(w) != wins[-1]:
            wins.append(int(w))
        w *= 1.25
    if len(wins) < 3:
        raise PluginError("insufficient_data", "need n >= 100 for three DFA windows, got %d" % n)
    return np.array(wins)


def _fit(scales, fluct):
    slope, _ = np.polyfit(np.log(scales), np.log(fluct), 1)
    return float(slope)


def _declare(package, name, description, reference=""):
    """Declares `name` when `package` (and numpy) import, else an unavailable placeholder."""
    module, why = _try_import(package) if NUMPY_MISSING is None else (None, NUMPY_MISSING)

    def register(func):
        if module is None:
            plugin.unavailable(name, why, family="other")
            return func

        def call(x, **params):
            return Estimate(finite_or_error(func(module, np.asarray(x, dtype=float), **params)))

        dist = package.split(".")[0]
        full = "%s [%s %s]" % (description, dist, _version(dist))
        call.__doc__ = full
        plugin.estimator(name, family="other", estimand="H", description=full,
                         reference=reference)(call)
        return func

    return register


def _version(package):
    try:
        from importlib.metadata import version

        return version(package)
    except Exception:
        return "(version unknown)"


@_declare("nolds", "nolds_hurst_rs", "nolds.hurst_rs: rescaled range, nolds' defaults")
def _nolds_rs(nolds, x):
    return nolds.hurst_rs(x)


@_declare("nolds", "nolds_dfa", "nolds.dfa: DFA order 1, nolds' defaults (alpha = H for fGn)")
def _nolds_dfa(nolds, x):
    return nolds.dfa(x)


@_declare("hurst", "hurst_rs", "hurst.compute_Hc(kind='change', simplified=True)")
def _hurst_rs(hurst, x):
    if len(x) < 100:
        raise PluginError("insufficient_data", "hurst needs at least 100 points")
    return hurst.compute_Hc(x, kind="change", simplified=True)[0]


@_declare("fathon", "fathon_dfa", "fathon.DFA order 1, windows 16 x1.25 up to n/4")
def _fathon_dfa(fathon, x):
    from fathon import fathonUtils as fu

    pydfa = fathon.DFA(fu.toAggregated(x))
    wins = _ladder(len(x))
    pydfa.computeFlucVec(wins, revSeg=True, polOrd=1)
    h, _ = pydfa.fitFlucVec()
    return h


@_declare("MFDFA", "mfdfa_h2", "MFDFA h(2), order 1, windows 16 x1.25 up to n/4")
def _mfdfa(mfdfa, x):
    lag, f = mfdfa.MFDFA(x, lag=_ladder(len(x)), q=2, order=1)
    return _fit(lag, np.asarray(f)[:, 0])


def _lrdbench2_point(x, kernel):
    """lrdbench 2.0's point estimate: the statistic its estimator's `fit` bootstraps, called
    directly (as docs/peer-measurements.md timed it, with no bootstrap)."""
    h = kernel(x)
    if h is None:
        raise PluginError("numerical", "lrdbench 2.0 returned no estimate (insufficient signal)")
    return h


@_declare("lrdbench.estimators.temporal", "lrdbench2_dfa",
          "lrdbench 2.0 DFA point estimate (order 1, min_scale 16)")
def _lrdbench2_dfa(temporal, x):
    return _lrdbench2_point(
        x, lambda z: temporal._dfa_hurst(z, detrend_order=1, min_scale=16, max_scale=None))


@_declare("lrdbench.estimators.spectral", "lrdbench2_whittle",
          "lrdbench 2.0 WhittleMLE point estimate (ARFIMA(0,d,0), H = d + 1/2)")
def _lrdbench2_whittle(spectral, x):
    return _lrdbench2_point(
        x, lambda z: spectral._as_target_estimand(spectral._whittle_arfima_d(z, m=None),
                                                  "hurst_scaling_proxy"))


if __name__ == "__main__":
    plugin.serve()
