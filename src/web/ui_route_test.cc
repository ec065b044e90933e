#include "web/ui_route.h"

#include <gtest/gtest.h>

#include <string>

namespace tocsin::web {
namespace {

http::Request get(std::string path, std::string if_none_match = "") {
  http::Request r;
  r.method = "GET";
  r.path = std::move(path);
  r.target = r.path;
  if (!if_none_match.empty()) r.headers["if-none-match"] = std::move(if_none_match);
  return r;
}

std::string header(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(UiRoute, RootIsIndexHtmlWithSecurityHeaders) {
  auto r = serve_ui(get("/"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
  EXPECT_NE(r->body.find("<!doctype html>"), std::string::npos) << r->body.substr(0, 200);
  EXPECT_NE(r->body.find("app.js"), std::string::npos);
  EXPECT_EQ(header(*r, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(*r, "X-Content-Type-Options"), "nosniff");
  EXPECT_NE(header(*r, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(header(*r, "ETag"), std::string(find_asset("index.html")->etag));
}

TEST(UiRoute, AssetsHaveTheirContentTypes) {
  auto js = serve_ui(get("/ui/app.js"));
  ASSERT_TRUE(js.has_value());
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  auto css = serve_ui(get("/ui/app.css"));
  ASSERT_TRUE(css.has_value());
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  auto svg = serve_ui(get("/ui/icon.svg"));
  ASSERT_TRUE(svg.has_value());
  EXPECT_EQ(svg->content_type, "image/svg+xml");
  EXPECT_EQ(svg->body, std::string(find_asset("icon.svg")->body));
}

TEST(UiRoute, EmbeddedBytesAreTheFiles) {
  // The generated arrays hold every byte (the CMake script's hex conversion), sorted for lookup.
  auto all = assets();
  ASSERT_GE(all.size(), 3u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].name, all[i].name);
  for (const Asset& a : all) {
    EXPECT_FALSE(a.body.empty()) << a.name;
    EXPECT_EQ(a.etag.size(), 18u) << a.name;  // 16 hex digits in quotes
    EXPECT_EQ(find_asset(a.name), &a);
  }
  EXPECT_EQ(find_asset("nope.js"), nullptr);
}

// Every /ui/ file the page names and every module a script imports ('./x.js') is embedded: a
// renamed or missing file fails here, not in a browser.
TEST(UiRoute, EveryReferencedFileIsEmbedded) {
  size_t refs = 0;
  for (const Asset& a : assets()) {
    for (std::string_view prefix : {std::string_view("\"/ui/"), std::string_view("from './")}) {
      for (size_t pos = a.body.find(prefix); pos != std::string_view::npos; pos = a.body.find(prefix, pos + 1)) {
        const size_t start = pos + prefix.size();
        const size_t end = a.body.find_first_of("\"'", start);
        ASSERT_NE(end, std::string_view::npos) << a.name;
        const std::string_view name = a.body.substr(start, end - start);
        EXPECT_NE(find_asset(name), nullptr) << a.name << " refers to " << name;
        ++refs;
      }
    }
  }
  EXPECT_GE(refs, 10u);
}

TEST(UiRoute, MatchingEtagIs304) {
  const std::string etag(find_asset("app.js")->etag);
  auto same = serve_ui(get("/ui/app.js", etag));
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->status, 304);
  EXPECT_EQ(header(*same, "ETag"), etag);
  auto listed = serve_ui(get("/ui/app.js", "\"0000000000000000\", W/" + etag));
  EXPECT_EQ(listed->status, 304);
  auto other = serve_ui(get("/ui/app.js", "\"0000000000000000\""));
  EXPECT_EQ(other->status, 200);
}

TEST(UiRoute, OtherPathsAreNotTheUis) {
  EXPECT_FALSE(serve_ui(get("/api/v1/incidents")).has_value());
  EXPECT_FALSE(serve_ui(get("/healthz")).has_value());
  EXPECT_FALSE(serve_ui(get("/uix")).has_value());
  auto missing = serve_ui(get("/ui/nope.js"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->content_type, "application/json");
  http::Request post = get("/");
  post.method = "POST";
  EXPECT_EQ(serve_ui(post)->status, 405);
}

}  // namespace
}  // namespace tocsin::web
