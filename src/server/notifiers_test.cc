#include "server/notifiers.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "config/loader.h"
#include "core/simulated_clock.h"
#include "server/fake_env.h"
#include "test_support/temp_dir.h"

namespace tocsin::server {
namespace {

class NotifiersTest : public ::testing::Test {
 protected:
  config::Config load(const std::string& yaml) {
    auto cfg = config::load_config_string(yaml, "t.yaml", dir_.path());
    EXPECT_TRUE(cfg.has_value()) << cfg.error().to_string();
    return cfg ? std::move(*cfg) : config::Config{};
  }
  test_support::TempDir dir_;
  core::SimulatedClock clock_{core::from_unix_ms(0)};
};

TEST_F(NotifiersTest, AckKeyIsCreatedOnceWithMode0600AndKept) {
  config::ServerConfig server;
  server.data_dir = (dir_.path() / "data").string();
  const auto first = load_ack_key(server, fake_env({}));
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  EXPECT_EQ(first->size(), 64u);  // 32 random bytes, hex
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() / "data" / "ack.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(load_ack_key(server, fake_env({})).value(), *first) << "kept across restarts";
}

TEST_F(NotifiersTest, AckKeyFromTheEnvironment) {
  config::ServerConfig server;
  server.data_dir = (dir_.path() / "data").string();
  server.ack_secret_env = "TOCSIN_ACK";
  EXPECT_EQ(load_ack_key(server, fake_env({{"TOCSIN_ACK", "a-long-enough-shared-secret"}})).value(),
            "a-long-enough-shared-secret");
  auto unset = load_ack_key(server, fake_env({}));
  ASSERT_FALSE(unset.has_value());
  EXPECT_EQ(unset.error().message(), "server.ack_secret_env: environment variable TOCSIN_ACK is not set");
  auto short_key = load_ack_key(server, fake_env({{"TOCSIN_ACK", "short"}}));
  ASSERT_FALSE(short_key.has_value());
  EXPECT_NE(short_key.error().message().find("at least 16"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "data" / "ack.key"));
}

TEST_F(NotifiersTest, SecretsAreResolvedAtStartOrTheStartFails) {
  {
    std::ofstream(dir_.path() / "hook.secret") << "from-a-file\n";
  }
  const auto cfg = load(R"(
channels:
  - {name: a, type: webhook, url: "http://x/", secret_env: HOOK_A}
  - {name: b, type: webhook, url: "http://x/", secret_file: hook.secret}
  - {name: mail, type: email, smtp: {host: 127.0.0.1, from: t@x.org, username: u, password_env: SMTP_PW}}
  - {name: run, type: exec, command: [/bin/true]}
)");
  auto senders = make_senders(cfg, clock_, fake_env({{"HOOK_A", "from-env"}, {"SMTP_PW", "pw"}}));
  ASSERT_TRUE(senders.has_value()) << senders.error().to_string();
  const auto by_kind = senders->by_kind();
  for (const char* kind : {"webhook", "slack", "email", "exec"}) EXPECT_NE(by_kind.at(kind), nullptr) << kind;

  auto no_hook = make_senders(cfg, clock_, fake_env({{"SMTP_PW", "pw"}}));
  ASSERT_FALSE(no_hook.has_value());
  EXPECT_EQ(no_hook.error().message(), "channel a secret_env: environment variable HOOK_A is not set");
  auto no_password = make_senders(cfg, clock_, fake_env({{"HOOK_A", "x"}, {"SMTP_PW", ""}}));
  ASSERT_FALSE(no_password.has_value());
  EXPECT_EQ(no_password.error().message(), "channel mail smtp.password_env: environment variable SMTP_PW is empty");

  std::filesystem::remove(dir_.path() / "hook.secret");
  auto no_file = make_senders(cfg, clock_, fake_env({{"HOOK_A", "x"}, {"SMTP_PW", "pw"}}));
  ASSERT_FALSE(no_file.has_value());
  EXPECT_NE(no_file.error().message().find("channel b secret_file: cannot read secret file"), std::string::npos)
      << no_file.error().message();
}

}  // namespace
}  // namespace tocsin::server
