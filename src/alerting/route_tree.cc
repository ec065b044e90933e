#include "alerting/route_tree.h"

namespace tocsin::alerting {

namespace {

// Alertmanager's Matchers.String(): {a="b",c=~"d"} — no space after the comma.
std::string matchers_string(const std::vector<core::Matcher>& matchers) {
  std::string out = "{";
  for (size_t i = 0; i < matchers.size(); ++i) {
    if (i > 0) out += ',';
    out += matchers[i].to_string();
  }
  out += '}';
  return out;
}

void build(const config::Route& route, const std::string& parent_key, bool is_root, RouteNode& node, int& next_index) {
  node.route = &route;
  node.key = is_root ? matchers_string(route.matchers) : parent_key + "/" + matchers_string(route.matchers);
  node.index = next_index++;
  node.children.resize(route.routes.size());
  for (size_t i = 0; i < route.routes.size(); ++i) build(route.routes[i], node.key, false, node.children[i], next_index);
}

// Alertmanager's Route.Match: the children that match (stopping at the first without
// `continue`), or the node itself when none does.
void match_node(const RouteNode& node, const core::Labels& labels, std::vector<const RouteNode*>& out) {
  const size_t before = out.size();
  for (const auto& child : node.children) {
    if (!core::matches_all(child.route->matchers, labels)) continue;
    match_node(child, labels, out);
    if (!child.route->continue_matching) break;
  }
  if (out.size() == before) out.push_back(&node);
}

void collect(const RouteNode& node, std::vector<const RouteNode*>& out) {
  out.push_back(&node);
  for (const auto& child : node.children) collect(child, out);
}

}  // namespace

RouteTree::RouteTree(const std::optional<config::Route>& root) {
  if (!root) return;
  config_ = std::make_unique<config::Route>(*root);
  root_ = std::make_unique<RouteNode>();
  int next_index = 0;
  build(*config_, "", true, *root_, next_index);
}

std::vector<const RouteNode*> RouteTree::match(const core::Labels& labels) const {
  std::vector<const RouteNode*> out;
  if (root_) match_node(*root_, labels, out);
  return out;
}

core::Labels RouteTree::group_labels(const RouteNode& node, const core::Labels& labels) {
  if (node.route->group_by_all) return labels;
  std::vector<core::Label> pairs;
  for (const auto& name : node.route->group_by) {
    if (auto v = labels.get(name)) pairs.push_back({name, std::string(*v)});
  }
  return core::Labels::from_pairs(std::move(pairs));
}

std::string RouteTree::group_key(const RouteNode& node, const core::Labels& group_labels) {
  return node.key + ":" + group_labels.to_string();
}

std::vector<const RouteNode*> RouteTree::nodes() const {
  std::vector<const RouteNode*> out;
  if (root_) collect(*root_, out);
  return out;
}

}  // namespace tocsin::alerting
