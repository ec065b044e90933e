#include "alerting/route_tree.h"

#include <gtest/gtest.h>

#include "alerting/test_util.h"

namespace tocsin::alerting {
namespace {

using testing::load;

constexpr const char* kChannels = R"(
channels:
  - {name: default, type: webhook, url: "http://127.0.0.1:9/d"}
  - {name: db, type: webhook, url: "http://127.0.0.1:9/db"}
  - {name: info, type: webhook, url: "http://127.0.0.1:9/i"}
  - {name: audit, type: webhook, url: "http://127.0.0.1:9/a"}
)";

std::vector<std::string> receivers(const RouteTree& tree, const core::Labels& labels) {
  std::vector<std::string> out;
  for (const RouteNode* n : tree.match(labels)) out.push_back(n->route->receiver);
  return out;
}

TEST(RouteTree, AnAlertGoesToTheFirstMatchingChildOrStaysAtTheParent) {
  auto cfg = load(std::string(kChannels) + R"(
routes:
  receiver: default
  group_by: [alertname]
  routes:
    - {matchers: ['service=~"db|cache"'], receiver: db}
    - {matchers: ['severity="info"'], receiver: info}
)");
  RouteTree tree(cfg->routes);
  EXPECT_EQ(receivers(tree, {{"service", "db"}, {"severity", "info"}}), std::vector<std::string>{"db"});
  EXPECT_EQ(receivers(tree, {{"service", "web"}, {"severity", "info"}}), std::vector<std::string>{"info"});
  EXPECT_EQ(receivers(tree, {{"service", "web"}}), std::vector<std::string>{"default"});
}

TEST(RouteTree, ContinueKeepsMatchingSiblingsAndNestedRoutesWin) {
  auto cfg = load(std::string(kChannels) + R"(
routes:
  receiver: default
  routes:
    - {matchers: ['team="ops"'], receiver: audit, continue: true}
    - matchers: ['service="db"']
      receiver: db
      routes:
        - {matchers: ['severity="info"'], receiver: info}
    - {matchers: ['team="ops"'], receiver: default}
)");
  RouteTree tree(cfg->routes);
  EXPECT_EQ(receivers(tree, {{"team", "ops"}, {"service", "db"}, {"severity", "info"}}),
            (std::vector<std::string>{"audit", "info"}));
  EXPECT_EQ(receivers(tree, {{"team", "ops"}, {"service", "db"}}), (std::vector<std::string>{"audit", "db"}));
  EXPECT_EQ(receivers(tree, {{"team", "ops"}}), (std::vector<std::string>{"audit", "default"}));
}

TEST(RouteTree, GroupKeysHaveAlertmanagersForm) {
  auto cfg = load(std::string(kChannels) + R"(
routes:
  receiver: default
  group_by: [alertname, service]
  routes:
    - {matchers: ['severity="info"', 'service=~"a|b"'], receiver: info}
    - {matchers: ['severity="page"'], receiver: db, group_by: ['...']}
)");
  RouteTree tree(cfg->routes);
  const core::Labels labels{{"alertname", "HighLoad"}, {"service", "a"}, {"severity", "info"}, {"x", "1"}};
  auto nodes = tree.match(labels);
  ASSERT_EQ(nodes.size(), 1u);
  const auto group = RouteTree::group_labels(*nodes[0], labels);
  EXPECT_EQ(group, (core::Labels{{"alertname", "HighLoad"}, {"service", "a"}}));
  EXPECT_EQ(RouteTree::group_key(*nodes[0], group),
            R"({}/{service=~"a|b",severity="info"}:{alertname="HighLoad", service="a"})");

  const core::Labels paged{{"alertname", "Down"}, {"severity", "page"}};
  auto all = tree.match(paged);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(RouteTree::group_labels(*all[0], paged), paged);
  // Labels the alert lacks are left out of the group labels.
  const core::Labels bare{{"alertname", "X"}};
  EXPECT_EQ(RouteTree::group_key(*tree.match(bare)[0], RouteTree::group_labels(*tree.match(bare)[0], bare)),
            R"({}:{alertname="X"})");
}

TEST(RouteTree, NoRoutesMeansNoReceivers) {
  RouteTree tree(std::nullopt);
  EXPECT_TRUE(tree.empty());
  EXPECT_TRUE(tree.match({{"a", "b"}}).empty());
}

}  // namespace
}  // namespace tocsin::alerting
