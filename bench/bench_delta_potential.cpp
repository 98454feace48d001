// How many requests a divergence-tracking ("delta") re-simulation of one greedy step would have
// to simulate, before anyone builds one (docs/policies.md, speed section).
//
//   build/bin/bench_delta_potential [models] [devices]     (default 36 24: one mp-search-sep
//   bucket)
//
// For a sample of group lists, runs the greedy replica fill; at each step simulates parent and
// child (parent + one replica, child group order as normalize() gives) in lockstep, per request,
// and counts the requests a delta would process: those of the added model, those of a model whose
// host order changed when its hosts tie, and those with a host whose stage clocks differ between
// the two runs (last stage exactly; earlier stages unless both are <= the arrival). Printed as a
// share of the requests of the child's connected component. A plain (slow) reference loop.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>
#include "planner/policy/greedy_replica_fill.hpp"
#include "planner/policy/group_config_enumeration.hpp"
#include "planner/policy/placement_problem.hpp"
#include "planner/profile/zoo_profiles.hpp"
#include "planner/workload/train_workload.hpp"
#include "planner/workload/workload_gen.hpp"
using namespace alpaserve::planner;
static std::vector<model_data> bert_mix(int n) {
  static const profile_db db =
      zoo_profile_db(device_preset("v100"), {"bert-6.7b", "bert-2.6b", "bert-1.3b"});
  const char* types[] = {"bert-6.7b", "bert-2.6b", "bert-1.3b"};
  const auto rates = power_law_rates(static_cast<size_t>(n), 2.0 * n);
  std::vector<model_data> models;
  for (int i = 0; i < n; ++i) {
    const model_profile& p = db.at(types[i % 3]);
    models.push_back({std::string(types[i % 3]) + "-" + std::to_string(i / 3),
                      5.0 * p.single_device_latency(), rates[i], 4.0, p});
  }
  return models;
}
static std::vector<double> stage_lat(const model_data& md, const parallel_config& c) {
  std::vector<double> out;
  const config_profile* prof = md.profile.find(c);
  if (!prof || prof->latency.count(1) == 0) return std::vector<double>(c.pp, 1e300);
  for (double l : prof->stage_latency(1)) out.push_back((double)(float)(l * (1.0 + 0.009 * c.pp)));
  return out;
}
int64_t tot_proc = 0, tot_comp = 0, tot_m = 0;
// P normalized; child = P + (g, m) (normalized separately for order).
static void analyze(const placement& P, int g, int m, const std::vector<model_data>& models,
                    const std::vector<int>& req_model, const std::vector<double>& arr) {
  const int G = P.num_groups(), M = models.size();
  placement C = P.add_model(g, m);
  std::vector<size_t> order(G);
  std::iota(order.begin(), order.end(), 0);
  auto cm = C.group_models;
  for (auto& x : cm) std::sort(x.begin(), x.end());
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cm[a] < cm[b]; });
  std::vector<int> rank(G);
  for (int i = 0; i < G; ++i) rank[order[i]] = i;
  std::vector<std::vector<int>> hp(M), hc(M);
  for (int x = 0; x < G; ++x)
    for (int q : P.group_models[x]) hp[q].push_back(x);
  for (int i = 0; i < G; ++i)
    for (int q : cm[order[i]]) hc[q].push_back(order[i]);
  std::vector<int> off(G + 1, 0);
  for (int x = 0; x < G; ++x) off[x + 1] = off[x] + P.group_configs[x].pp;
  std::vector<double> cp(off[G], 0), cc(off[G], 0);
  std::vector<std::vector<std::vector<double>>> L(G, std::vector<std::vector<double>>(M));
  for (int x = 0; x < G; ++x)
    for (int q = 0; q < M; ++q) L[x][q] = stage_lat(models[q], P.group_configs[x]);
  std::vector<char> changed(M, 0);
  changed[m] = 1;
  for (int q = 0; q < M; ++q)
    if (q != m && hp[q] != hc[q]) changed[q] = 1;
  // component of g in child
  std::vector<char> inc(M, 0), gin(G, 0);
  gin[g] = 1;
  bool grow = true;
  while (grow) {
    grow = false;
    for (int x = 0; x < G; ++x)
      for (int q : C.group_models[x])
        if ((gin[x] || inc[q]) && !(gin[x] && inc[q])) {
          gin[x] = inc[q] = 1;
          grow = true;
        }
  }
  auto sim = [&](std::vector<double>& ck, const std::vector<int>& hosts, int q, double a) {
    int best = -1;
    double bc = 1e100;
    for (int x : hosts)
      if (ck[off[x + 1] - 1] < bc) {
        bc = ck[off[x + 1] - 1];
        best = x;
      }
    if (best < 0) return;
    double t = a;
    std::vector<double> se;
    for (int k = 0; k < P.group_configs[best].pp; ++k) {
      t = std::max(t, ck[off[best] + k]) + L[best][q][k];
      se.push_back(t);
    }
    if (t + 0.011 - a <= (double)(float)models[q].slo)
      for (int k = 0; k < (int)se.size(); ++k) ck[off[best] + k] = se[k];
  };
  auto dirty = [&](int x, double a) {
    if (cp[off[x + 1] - 1] != cc[off[x + 1] - 1]) return true;
    for (int k = off[x]; k < off[x + 1] - 1; ++k)
      if (cp[k] != cc[k] && !(cp[k] <= a && cc[k] <= a)) return true;
    return false;
  };
  int64_t proc = 0, comp = 0, mreq = 0;
  for (size_t i = 0; i < arr.size(); ++i) {
    const int q = req_model[i];
    if (q < 0) continue;
    if (inc[q]) ++comp;
    bool p = q == m;
    for (int x : hc[q])
      if (!p && dirty(x, arr[i])) p = true;
    if (!p && changed[q]) {
      double mn = 1e100;
      int cnt = 0;
      for (int x : hc[q]) mn = std::min(mn, cp[off[x + 1] - 1]);
      for (int x : hc[q]) cnt += cp[off[x + 1] - 1] == mn;
      if (cnt > 1) p = true;
    }
    if (q == m) ++mreq;
    if (p) ++proc;
    sim(cp, hp[q], q, arr[i]);
    sim(cc, hc[q], q, arr[i]);
  }
  tot_proc += proc;
  tot_m += mreq;
  tot_comp += comp;
}
int main(int argc, char** argv) {
  const int nm = argc > 1 ? atoi(argv[1]) : 36, nd = argc > 2 ? atoi(argv[2]) : 24;
  const auto models = bert_mix(nm);
  const workload w = gen_train_workload(models);
  placement_evaluator ev(models, w);
  placement_problem prob(models, 13 * gib, ev);
  std::vector<int> rm(w.size());
  for (size_t i = 0; i < w.size(); ++i) rm[i] = w.model[i];
  const auto cands = enumerate_group_configs_uneven(cluster_env{nd, 13 * gib});
  for (size_t ci = 0; ci < cands.size(); ci += std::max<size_t>(1, cands.size() / 6)) {
    tot_proc = tot_comp = tot_m = 0;
    int steps = 0;
    placement sol = empty_placement(cands[ci]);
    for (;;) {
      const auto st = prob.stats(sol);
      auto nx = greedy_next_replica(sol, prob, st);
      if (nx.group < 0) break;
      analyze(sol, nx.group, nx.model, models, rm, w.arrivals);
      sol = sol.add_model(nx.group, nx.model);
      sol.normalize();
      ++steps;
    }
    std::printf(
        "cand %zu (%s x%zu) steps %d: processed %lld of component %lld (%.1f%%) m-requests %lld\n",
        ci, cands[ci][0].to_string().c_str(), cands[ci].size(), steps, (long long)tot_proc,
        (long long)tot_comp, 100.0 * tot_proc / std::max<int64_t>(1, tot_comp), (long long)tot_m);
  }
}
