#!/usr/bin/env python3
"""Times the reference AlpaServe's approximate simulator (its numba kernel) on the case that
bench_approx_simulator dumped with `--dump DIR`, so both run the same requests on one machine.

  python3 bench/reference_approx_speed.py --mms /path/to/mms --case DIR [--reps 5]

The reference (github.com/alpa-projects/mms) is imported from --mms, not copied. Its modules
import ray / fastapi / starlette / uvicorn at the top, which the simulator never uses; whichever
of those is not installed imports as an inert stub (listed on stderr). Each timed call is the reference's
approximate_one_case_one_placement: fresh np.empty outputs, then simulate_requests_mixed over
every request, as approximate_one_case does for every placement it scores. Time is this thread's
CPU time (the C++ benchmark's clock). Exit 77 when the reference or numba is absent.
"""
import argparse
import importlib.abc
import importlib.machinery
import json
import os
import sys
import time
import types
from unittest import mock


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on the import path: a module of the reference's other dependencies (its setup.py and
    ray) that nothing else found imports as a MagicMock. numpy and numba are always real."""

    roots = ("ray", "fastapi", "starlette", "uvicorn", "scipy", "pulp", "matplotlib")

    def __init__(self):
        self.stubbed = set()

    def find_spec(self, name, path, target=None):
        if name.split(".")[0] not in self.roots:
            return None
        self.stubbed.add(name.split(".")[0])
        return importlib.machinery.ModuleSpec(name, self, is_package=True)

    def create_module(self, spec):
        module = mock.MagicMock(name=spec.name)
        module.__path__ = []
        module.__spec__ = spec
        return module

    def exec_module(self, module):
        pass


def import_reference(mms):
    sys.path.insert(0, mms)
    stubs = _StubFinder()
    sys.meta_path.append(stubs)
    from alpa_serve.profiling import ParallelConfig, ProfilingResult
    from alpa_serve.simulator import controller
    sys.meta_path.remove(stubs)
    if stubs.stubbed:
        print("reference: stubbed missing modules " + " ".join(sorted(stubs.stubbed)),
              file=sys.stderr)
    return ParallelConfig, ProfilingResult, controller


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mms", required=True, help="checkout of alpa-projects/mms")
    ap.add_argument("--case", required=True, help="directory written by bench_approx_simulator --dump")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.mms, "alpa_serve", "simulator", "controller.py")):
        print(f"no reference checkout at {args.mms}", file=sys.stderr)
        return 77
    try:
        import numpy as np
        import numba  # noqa: F401
    except ImportError as e:
        print(f"skipped: {e}", file=sys.stderr)
        return 77
    ParallelConfig, ProfilingResult, controller = import_reference(args.mms)

    with open(os.path.join(args.case, "case.json")) as f:
        case = json.load(f)
    arrivals = np.fromfile(os.path.join(args.case, "arrivals.f64"), dtype=np.float64)
    model_ids = np.fromfile(os.path.join(args.case, "model.i32"), dtype=np.int32)
    # The reference stores one float32 SLO per request (approximate_one_case).
    model_slo = np.array([m["slo"] for m in case["models"]], dtype=np.float64)
    slos = model_slo[model_ids].astype(np.float32)

    names, profiles = [], []
    for m in case["models"]:
        prof = ProfilingResult(m["name"], {}, 0.0, 0.0)
        for c in m["configs"]:
            for bs, lat in c["latency"].items():
                prof.add_result(ParallelConfig(*c["config"]), int(bs), lat, [0.0] * len(lat),
                                c["weight"])
        names.append(m["name"])
        profiles.append(prof)
    placement = types.SimpleNamespace(
        group_configs=[ParallelConfig(*c) for c in case["placement"]["group_configs"]],
        group_models=case["placement"]["group_models"])

    def one_run():
        return controller.approximate_one_case_one_placement(placement, names, profiles,
                                                             model_ids, slos, arrivals)

    n = len(arrivals)
    res = one_run()  # JIT compile, then check the outcome against ours, request by request
    good = int(res[2].sum())
    group_num_requests = [int(x) for x in res[5]]
    expected = case["expected"]
    our_finish = np.fromfile(os.path.join(args.case, "finish.f64"), dtype=np.float64)
    our_good = np.fromfile(os.path.join(args.case, "good.u8"), dtype=np.uint8).astype(bool)
    same = (good == expected["num_good"] and group_num_requests == expected["group_num_requests"]
            and np.array_equal(res[1], our_finish) and np.array_equal(res[2], our_good))
    print(f"reference: requests {n}, good {good}, group requests {group_num_requests} "
          f"({'same as ours, every finish time bit for bit' if same else 'DIFFERENT from ours: ' + json.dumps(expected)})")
    del res

    cpu = []
    for _ in range(args.reps):
        c0 = time.thread_time_ns()
        res = one_run()
        cpu.append(time.thread_time_ns() - c0)
        del res  # freed outside the timed region
    cpu.sort()
    print(f"reference numba run  cpu best {cpu[0] / n:7.2f} median {cpu[len(cpu) // 2] / n:7.2f} "
          f"ns/request ({len(cpu)} runs)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
