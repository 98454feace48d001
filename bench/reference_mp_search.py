#!/usr/bin/python3
"""Run the public reference's mp-search (alpa-projects/mms, ModelParallelismSearch without
separation) on a synthetic bert case, with our zoo profiles, and write its train workload and
placement so `alpaserve plan --policy mp-search --workload` can be compared on the same inputs.

Usage: /usr/bin/python3 bench/reference_mp_search.py MMS_DIR ZOO_JSON MODELS DEVICES OUT_PREFIX
  MMS_DIR:  an extracted checkout of the reference (imported, not copied)
  ZOO_JSON: `alpaserve zoo --models bert-6.7b,bert-2.6b,bert-1.3b --out ZOO_JSON`
  Case: MODELS models cycling bert-6.7b, bert-2.6b, bert-1.3b (named like bench_policies),
  power-law rates 2 r/s per model, Gamma CV 4, SLO 5x single-device latency, 13 GiB per device.
Writes OUT_PREFIX.train.csv (arrival_s,model) and OUT_PREFIX.placement.json.
Needs numpy and numba (the Debian python3-numba runs under /usr/bin/python3).
"""
import dataclasses
import json
import sys
import time
import types


def install_shims():
    """Stand-ins for what the reference imports but mp-search never uses (ray, the HTTP
    controller, matplotlib): the search runs in-process with parallel evaluation off."""
    ray = types.ModuleType("ray")
    ray.remote = lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda f: f))
    ray.is_initialized = lambda: False
    ray.get = lambda x: x
    ray.put = lambda x: x
    ray.init = lambda *a, **k: None
    actor = types.ModuleType("ray.actor")
    actor.ActorHandle = object
    util = types.ModuleType("ray.util")
    strat = types.ModuleType("ray.util.scheduling_strategies")
    strat.NodeAffinitySchedulingStrategy = object
    ray.actor, ray.util, util.scheduling_strategies = actor, util, strat
    sys.modules.update({"ray": ray, "ray.actor": actor, "ray.util": util,
                        "ray.util.scheduling_strategies": strat})

    ctrl = types.ModuleType("alpa_serve.controller")

    @dataclasses.dataclass
    class CreateInfo:
        model_def: object
        init_args: object = None
        init_kwargs: object = None

    @dataclasses.dataclass
    class ModelInfo:
        create_info: object
        group_ids: list
        group_pt: int

    @dataclasses.dataclass
    class GroupInfo:
        manager: object
        queue_size: int
        num_total_requests: int

    import logging
    ctrl.CreateInfo, ctrl.ModelInfo, ctrl.GroupInfo = CreateInfo, ModelInfo, GroupInfo
    ctrl.build_logger = lambda name="alpa_serve": logging.getLogger(name)
    sys.modules["alpa_serve.controller"] = ctrl

    mpl = types.ModuleType("matplotlib")
    plt = types.ModuleType("matplotlib.pyplot")
    mpl.pyplot = plt
    sys.modules.update({"matplotlib": mpl, "matplotlib.pyplot": plt})


def main():
    mms, zoo_path, n, d, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \
        sys.argv[5]
    sys.path.insert(0, mms)
    install_shims()
    from alpa_serve.profiling import ParallelConfig, LatencyMemData, ProfilingResult
    from alpa_serve.placement_policy import ModelData, ClusterEnv, ModelParallelismSearch
    from alpa_serve.placement_policy.base_policy import gen_train_workload, PlacementEvaluator

    zoo = {m["name"]: m for m in json.load(open(zoo_path))["models"]}
    profiles = {}
    for name, m in zoo.items():
        para = {}
        for c in m["configs"]:
            para[ParallelConfig(c["dp"], c["op"], c["pp"])] = LatencyMemData(
                latency={int(b): list(v) for b, v in c["latency"].items()}, act_mem={},
                weight_mem=list(c["weight_mem"]))
        profiles[name] = ProfilingResult(name, para, 0, 0)

    typ = ["bert-6.7b", "bert-2.6b", "bert-1.3b"]
    weights = [(i + 1) ** -0.5 for i in range(n)]
    total = 2.0 * n
    models = []
    for i in range(n):
        p = profiles[typ[i % 3]]
        slo = 5 * sum(p.para_dict[ParallelConfig(1, 1, 1)].latency[1])
        models.append(ModelData(f"{typ[i % 3]}-{i // 3}", slo, total * weights[i] / sum(weights),
                                4.0, p))
    cluster = ClusterEnv(d, 13 * (1 << 30))
    train = gen_train_workload(models)
    with open(out + ".train.csv", "w") as f:
        f.write("arrival_s,model\n")
        for t, r in zip(train.arrivals, train.requests):
            f.write(f"{float(t)!r},{r.model_name}\n")

    policy = ModelParallelismSearch(use_evo_search=False, use_separation=False, verbose=0)
    t0 = time.time()
    sol, _ = policy.solve_placement(models, cluster, train)
    secs = time.time() - t0
    sol = sol.normalize()
    score = PlacementEvaluator(models, cluster, train, "fast_simulator", False).get_scores([sol])[0]
    groups = [{"op": c.op, "pp": c.pp, "models": [models[m].name for m in ms]}
              for c, ms in zip(sol.group_configs, sol.group_models)]
    json.dump({"models": n, "devices": d, "requests": len(train.arrivals),
               "solve_seconds": secs, "train_score": float(score), "groups": groups},
              open(out + ".placement.json", "w"), indent=1)
    print(f"reference mp-search {n}/{d}: {len(train.arrivals)} requests, score {score:.6f}, "
          f"{secs:.1f} s, {len(groups)} groups")


if __name__ == "__main__":
    main()
