// The routing tree, with Alertmanager's semantics: an alert starts at the root and descends into
// the first child whose matchers all match (every matching child when `continue` is set); the
// deepest matching nodes are where it is grouped and whom it notifies. Each node has a key like
// Alertmanager's ("{}/{severity=\"info\"}"), and a group key is "<route key>:<group labels>", so
// notifications carry the same groupKey as Alertmanager's.
// Thread-safety: immutable after construction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/labels.h"

namespace tocsin::alerting {

struct RouteNode {
  const config::Route* route = nullptr;  // settings: receiver, group_by, timers, intervals
  std::string key;                       // Alertmanager's route key
  int index = 0;                         // position in depth-first order, for stable ids
  std::vector<RouteNode> children;
};

class RouteTree {
 public:
  // A tree with one catch-all node when the config has no `routes:` and `receiver` is empty:
  // alerts then go nowhere (they may still open incidents through plans).
  explicit RouteTree(const std::optional<config::Route>& root);

  // The nodes an alert with these labels is routed to, in tree order; never empty when the
  // tree has a root.
  std::vector<const RouteNode*> match(const core::Labels& labels) const;
  // The labels an alert is grouped by at `node`.
  static core::Labels group_labels(const RouteNode& node, const core::Labels& labels);
  static std::string group_key(const RouteNode& node, const core::Labels& group_labels);

  bool empty() const { return !root_; }
  const RouteNode* root() const { return root_.get(); }
  // Every node, depth-first.
  std::vector<const RouteNode*> nodes() const;

 private:
  std::unique_ptr<config::Route> config_;  // owned copy, so nodes can point into it
  std::unique_ptr<RouteNode> root_;
};

}  // namespace tocsin::alerting
