// `tocsin bayes query` and `tocsin bayes learn` (SPEC §2): the posterior of one node of a
// Bayesian network given evidence, with its MAP state; the joint MAP of several nodes (`--map`)
// or of every unobserved node (`--mpe`, the most probable explanation); and CPTs learnt from a CSV by counting
// with Laplace smoothing. The work is in the bayesnet layer; this file reads files and prints.
// Thread-safety: functions without shared state.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "bayesnet/inference.h"
#include "bayesnet/network.h"

namespace tocsin::cli {

struct BayesQueryCommand {
  std::string net;
  std::string query;                  // exactly one of query, map and mpe
  std::vector<std::string> map;       // "N1,N2" items: the nodes whose joint MAP to print
  bool mpe = false;                   // MAP over every node that is not evidence
  std::vector<std::string> evidence;  // "N=v,M=w" items; several are joined with commas
  bool json = false;
};

struct BayesLearnCommand {
  std::string net;   // the structure (CPTs optional; replaced)
  std::string data;  // CSV with a header naming the nodes
  std::string out;   // the network with learnt CPTs
  double alpha = 1.0;
};

// Run the commands; failures are one line on stderr and exit code 1.
int run_bayes_query(const BayesQueryCommand& command);
int run_bayes_learn(const BayesLearnCommand& command);

// The query's output, for tests: a table, or JSON with --json.
std::string format_posterior(const bayesnet::Network& network, const bayesnet::Evidence& evidence,
                             const bayesnet::Posterior& posterior, bool json);
std::string format_map(const bayesnet::Network& network, const bayesnet::Evidence& evidence,
                       const bayesnet::MapResult& map, bool json);

}  // namespace tocsin::cli
